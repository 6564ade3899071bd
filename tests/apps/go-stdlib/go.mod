module example.com/gostdlib

go 1.19
