#!/usr/bin/env bash
# The baseline Promote is compared against: what a CI job without Promote does for the same
# promotion. Per environment: clone, edit the values file, commit, push, run the diff and apply commands.
# Usage: plain-promotion.sh REPO_URL DEPLOY_COMMAND APP=TAG...
set -euo pipefail
repo="$1"; deploy="$2"; shift 2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for env in dev staging prod; do
  dir="$work/$env"
  git clone --quiet "$repo" "$dir"
  for pair in "$@"; do
    app="${pair%%=*}"; tag="${pair#*=}"
    # The tag line of this app's block: the edit a `yq -i` would make.
    sed -i "/^$app:/,/^[^ ]/ s/^\(    tag: \).*/\1\"$tag\"/" "$dir/environments/$env.yaml"
  done
  git -C "$dir" -c user.name=CI -c user.email=ci@localhost commit --quiet -am "feat($env): update $*"
  git -C "$dir" push --quiet origin HEAD:main
  (cd "$dir" && "$deploy" diff "$env" && "$deploy" apply "$env")
done
