#!/bin/sh
# Run by atmoz/sftp before sshd starts (/etc/sftp.d/). atmoz gives the upload folder to the
# SFTP user only when it creates it; a bind-mounted ./sftp_data made by root (or by Docker
# itself) stays root's and every upload would be refused.
set -eu
chown "$(id -u etl):$(id -g etl)" /home/etl/upload
