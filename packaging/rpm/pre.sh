# generator (rpm %pre): the service user, before files owned by it are laid down.
getent group generator >/dev/null || groupadd --system generator
getent passwd generator >/dev/null || \
    useradd --system --gid generator --home-dir /var/lib/generator --no-create-home \
        --shell /sbin/nologin --comment "Generator services" generator
exit 0
