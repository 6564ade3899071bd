#!/bin/sh
# benchmark platform: nothing to compile
true
