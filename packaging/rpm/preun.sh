# generator (rpm %preun): stop the services on erase ($1 = 0), not on upgrade.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl stop generator-backend.service generator-worker.service >/dev/null 2>&1 || :
fi
exit 0
