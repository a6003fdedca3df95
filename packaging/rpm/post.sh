# generator (rpm %post): state directory, env file permissions, migrations on upgrade
# ($1 = 2 or more), restart services that were running. Enables nothing.
if [ ! -d /var/lib/generator ]; then
    mkdir -p /var/lib/generator
    chown generator:generator /var/lib/generator
    chmod 0750 /var/lib/generator
fi
if [ -f /etc/generator/generator.env ]; then
    chgrp generator /etc/generator/generator.env
    chmod 0640 /etc/generator/generator.env
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -ge 2 ]; then
    timeout 120 runuser -u generator -- /usr/bin/generator-worker \
        --env-file /etc/generator/generator.env migrate >/dev/null 2>&1 || \
        echo "generator: database migration skipped; the services migrate when they start" >&2
    if [ -d /run/systemd/system ]; then
        systemctl try-restart generator-backend.service generator-worker.service \
            >/dev/null 2>&1 || :
    fi
fi
exit 0
