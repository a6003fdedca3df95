# generator (rpm %postun): rpm has no purge; erase keeps the data and the user, as Fedora's
# guidelines ask. Remove them by hand: userdel generator; rm -rf /var/lib/generator.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
