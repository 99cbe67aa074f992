#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, and only those whose programs are absent.
# Idempotent and fast: when everything is present it runs no apt-get at all. It installs
# packages only; it starts nothing (the tests start their own throwaway servers).
set -euo pipefail

missing=()

# need PACKAGE TEST...: queue PACKAGE for installation unless the command TEST succeeds.
need() {
    local package=$1
    shift
    if ! "$@" >/dev/null 2>&1; then
        missing+=("$package")
    fi
}

have_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

need postgresql     have_initdb
need apache2-utils  command -v htpasswd
need openssl        command -v openssl
need openssh-client command -v ssh-keygen
need chromium       test -x /usr/bin/chromium
# The LDAP directory behind Dex in the sign-in tests and `make sso-up` (run as a throwaway
# process; the package's own service is not used).
need slapd          test -x /usr/sbin/slapd
need ldap-utils     command -v ldapmodify
need haproxy        command -v haproxy
# The throwaway MariaDB target server of the dynamic database credential tests.
have_mariadbd() { command -v mariadbd || test -x /usr/sbin/mariadbd; }
need mariadb-server have_mariadbd
need mariadb-client command -v mariadb

if [ ${#missing[@]} -eq 0 ]; then
    echo "test dependencies: all present"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "test dependencies missing (${missing[*]}) and apt-get is unavailable;" \
        "install them with your package manager" >&2
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "installing ${missing[*]} needs root, and sudo is unavailable" >&2
        exit 1
    fi
    sudo=(sudo)
fi

echo "test dependencies: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# DPkg::Lock::Timeout: wait up to 10 minutes for the dpkg lock when another apt or dpkg runs,
# instead of failing at once.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
