/**
 * The fault suite's SIMULATED CLUSTER: like the demo's deploy.sh it copies the environment's values file
 * to $PROMOTE_DEMO_CLUSTER/<env>.yaml, and it adds what the faults need:
 * - every apply/rollback claims `<env>.applying` atomically (a directory renamed into place); a claim
 *   held by a live process is an overlap, logged as `overlap-with-<pid>`: the no-overlap invariant is
 *   read from this, the deploy command's own log;
 * - running commands register in pids/ so a "machine death" can SIGKILL them with the worker;
 * - `delay-<action>` and `fail-apply-<env>` files slow an action down or fail an apply;
 * - a diff logs its start and end (`diff-start`, `diff-done`): it runs inside the bump's activity.
 */
export const FAULT_DEPLOY_SH = `#!/usr/bin/env bash
set -uo pipefail
action="$1"; env="$2"
cluster="\${PROMOTE_DEMO_CLUSTER:?PROMOTE_DEMO_CLUSTER must point at the simulated cluster}"
live="$cluster/$env.yaml"; wanted="environments/$env.yaml"; held="$cluster/$env.applying"
log() { echo "$(date -u +%FT%T.%NZ) $1 $env \${PROMOTE_COMMIT:-?} \${PROMOTE_ID:-?} $$" >> "$cluster/deploy.log"; }
mkdir -p "$cluster/pids"; echo $$ > "$cluster/pids/$$"
unregister() { rm -f "$cluster/pids/$$"; }
pause() { local f="$cluster/delay-$1"; if [ -f "$f" ]; then sleep "$(cat "$f")" & wait $!; fi; }
claim() {
  local tmp; tmp="$(mktemp -d "$cluster/.claim.XXXXXX")"; echo $$ > "$tmp/pid"
  mv -T "$tmp" "$held" 2>/dev/null || { rm -rf "$tmp"; return 1; }
}
release() { if [ "$(cat "$held/pid" 2>/dev/null)" = "$$" ]; then rm -rf "$held"; fi; unregister; }
case "$action" in
  diff)
    log diff-start
    pause diff
    if [ -f "$live" ]; then diff -u "$live" "$wanted" || true; else echo "(new release) $wanted"; fi
    log diff-done; unregister ;;
  status)
    cat "$cluster/$env.commit" 2>/dev/null || true
    unregister ;;
  apply|rollback)
    if ! claim; then
      other="$(cat "$held/pid" 2>/dev/null || true)"
      if [ -n "$other" ] && kill -0 "$other" 2>/dev/null; then log "overlap-with-$other"
      else rm -rf "$held"; claim || log "overlap-race"; fi
    fi
    trap 'log terminated; release; exit 143' TERM
    log "$action-start"
    if [ "$action" = apply ] && [ -f "$cluster/fail-apply-$env" ]; then
      log failed; release; echo "simulated failure: $(cat "$cluster/fail-apply-$env")" >&2; exit 3
    fi
    pause "$action"
    cp "$wanted" "$live.tmp" && mv "$live.tmp" "$live"
    echo "\${PROMOTE_COMMIT:-unknown}" > "$cluster/$env.commit"
    log "$action-done"; release
    echo "release shop in $env: $action done" ;;
  *) echo "usage: fault-deploy diff|apply|rollback|status ENV" >&2; unregister; exit 2 ;;
esac
`;
