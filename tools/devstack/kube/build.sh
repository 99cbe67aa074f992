#!/usr/bin/env bash
# Builds the Kubernetes control plane used by the integration tests and `make kube-up`:
# kube-apiserver, kubectl and etcd, at the versions pinned in tools/devstack/kube/go.mod.
#
# Needs only Go and access to a Go module proxy. The binaries go to
#   ${KUBE_BIN_DIR:-$HOME/.cache/pipeline-secrets/kube/<kubernetes-version>-<etcd-version>}
# and the build is skipped when all three are already there. The last line printed on
# stdout is that directory; everything else goes to stderr.
#
# Knobs: KUBE_BIN_DIR (output folder), GO (go binary), KUBE_BUILD_PARALLEL (go build -p,
# default 2), KUBE_BUILD_NICE (nice level, default 19).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

GO="${GO:-}"
if [[ -z "$GO" ]]; then
    if command -v go >/dev/null 2>&1; then
        GO="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
        GO=/usr/local/go/bin/go
    else
        echo "build.sh: Go is not installed (looked on PATH and in /usr/local/go/bin)" >&2
        exit 1
    fi
fi

# go.mod and go.sum are committed; -mod=mod lets a fresh machine fill its module cache.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod -buildvcs=false"
export CGO_ENABLED=0
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

k8s_version="$("$GO" list -m -f '{{.Version}}' k8s.io/kubernetes)"
etcd_version="$("$GO" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"

bin_dir="${KUBE_BIN_DIR:-${HOME}/.cache/pipeline-secrets/kube/${k8s_version}-${etcd_version}}"
binaries=(kube-apiserver kubectl etcd)

have_all=1
for b in "${binaries[@]}"; do
    [[ -x "$bin_dir/$b" ]] || have_all=0
done
if [[ $have_all == 1 ]]; then
    echo "build.sh: kube-apiserver, kubectl and etcd already built in $bin_dir" >&2
    echo "$bin_dir"
    exit 0
fi

# The version that /version and `kubectl version` report. The module proxy does not
# carry the release's git commit, so gitCommit stays empty; the build date is the
# release's publication time, which keeps the build reproducible.
IFS=. read -r major minor _ <<<"${k8s_version#v}"
build_date="$("$GO" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kube_ldflags+=" -X $pkg.gitVersion=$k8s_version"
    kube_ldflags+=" -X $pkg.gitMajor=$major"
    kube_ldflags+=" -X $pkg.gitMinor=$minor"
    kube_ldflags+=" -X $pkg.gitCommit="
    kube_ldflags+=" -X $pkg.gitTreeState=clean"
    kube_ldflags+=" -X $pkg.buildDate=$build_date"
done
# The same build tags as the upstream release binaries.
kube_tags="selinux,notest,grpcnotrace"

parallel="${KUBE_BUILD_PARALLEL:-2}"
nice_level="${KUBE_BUILD_NICE:-19}"

mkdir -p "$bin_dir"
stage="$(mktemp -d "$bin_dir/.build.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

build() {
    local out="$1"
    shift
    echo "build.sh: building $out ..." >&2
    local start=$SECONDS
    nice -n "$nice_level" "$GO" build -p "$parallel" -trimpath -o "$stage/$out" "$@" >&2
    echo "build.sh: built $out in $((SECONDS - start))s" >&2
}

echo "build.sh: kubernetes $k8s_version, etcd $etcd_version -> $bin_dir" >&2
build etcd -ldflags "-s -w" go.etcd.io/etcd/server/v3
build kubectl -tags "$kube_tags" -ldflags "$kube_ldflags" k8s.io/kubernetes/cmd/kubectl
build kube-apiserver -tags "$kube_tags" -ldflags "$kube_ldflags" k8s.io/kubernetes/cmd/kube-apiserver

for b in "${binaries[@]}"; do
    mv -f "$stage/$b" "$bin_dir/$b"
done
echo "$bin_dir"
