#!/bin/bash
# atmoz/sftp's start-up: create each USER:PASS:UID:GID:DIRS user, collect its keys, make
# host keys that are missing, run /etc/sftp.d/*, then sshd in the foreground.
set -euo pipefail

log() { echo "[entrypoint] $*" >&2; }

create_user() {
    local user pass uid gid dirs
    IFS=':' read -r user pass uid gid dirs <<<"$1"
    [[ -n "$user" ]] || { log "empty user name in '$1'"; exit 1; }
    [[ -z "$gid" ]] || getent group "$gid" >/dev/null || groupadd --gid "$gid" "group_$gid"
    useradd --no-user-group ${uid:+--non-unique --uid "$uid"} ${gid:+--gid "$gid"} \
        --home-dir "/home/$user" --no-create-home --shell /usr/sbin/nologin "$user"
    mkdir -p "/home/$user"
    chown root:root "/home/$user"
    chmod 755 "/home/$user"
    if [[ -n "$pass" ]]; then
        echo "$user:$pass" | chpasswd
    else
        usermod -p '*' "$user"      # no password; keys only
    fi
    if compgen -G "/home/$user/.ssh/keys/*.pub" >/dev/null; then
        mkdir -p "/home/$user/.ssh"
        cat "/home/$user/.ssh/keys/"*.pub >"/home/$user/.ssh/authorized_keys"
        chown "$user" "/home/$user/.ssh/authorized_keys"
        chmod 600 "/home/$user/.ssh/authorized_keys"
    fi
    local dir
    IFS=',' read -ra dir_list <<<"$dirs"
    for dir in "${dir_list[@]}"; do
        if [[ ! -d "/home/$user/$dir" ]]; then
            mkdir -p "/home/$user/$dir"
            chown -R "$user:${gid:-users}" "/home/$user/$dir"
        fi
    done
}

for spec in "$@"; do create_user "$spec"; done
if [[ -f /etc/sftp/users.conf ]]; then
    grep -vE '^\s*(#|$)' /etc/sftp/users.conf | while read -r spec; do create_user "$spec"; done
fi
[[ -f /etc/ssh/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
[[ -f /etc/ssh/ssh_host_rsa_key ]] || ssh-keygen -q -t rsa -b 4096 -N '' -f /etc/ssh/ssh_host_rsa_key
for script in /etc/sftp.d/*; do
    [[ -e "$script" ]] || continue
    if [[ -x "$script" ]]; then log "running $script"; "$script"; else log "not executable: $script"; fi
done
exec /usr/sbin/sshd -D -e
