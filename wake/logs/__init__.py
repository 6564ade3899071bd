"""Every log line of a cluster on its rsyslog master (docs/logs.md).

Instances and cron runs reach it through Docker's syslog log driver, tagged
`APP.PROCESS.INSTANCE` (a cron run: `APP.JOB.SLOT`); deploys, rollbacks and lock events
are sent by the machine that makes them, as `APP.deploy.USER@MACHINE`. The master files
each line under /var/log/wake/APP/PROCESS.log with the time it arrived, the instance and
the sender's address, and rotates the files by size.

- ship.py: sending lines to the master (what deploys use).
- read.py: reading them back through the cluster (`wake logs`).
"""
