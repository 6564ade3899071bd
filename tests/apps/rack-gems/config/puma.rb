# Puma settings for wake: listen on 0.0.0.0:8000 and log to stdout.
bind "tcp://0.0.0.0:#{ENV.fetch("PORT", "8000")}"
environment ENV.fetch("RACK_ENV", "production")
threads 1, Integer(ENV.fetch("PUMA_THREADS", "5"))
workers 0
