#!/bin/sh
# The cluster profile's front (docker compose): fills deploy/nginx/cluster.conf.template, the template the tests
# and `npm run cluster` use, and runs nginx in the foreground. CLOUD_UPSTREAM is the scaled cloud service: nginx
# resolves its name once at start into one upstream server per replica (restart nginx after changing --scale).
set -e
: "${CLOUD_UPSTREAM:=cloud:8002}" "${LISTEN:=80}" "${WORK_DIR:=/var/cache/mentra-cluster}" "${FAIL_TIMEOUT_S:=5}"
: "${TEMPLATE_DIR:=/etc/mentra-cluster}"
NJS_MODULE=""
for m in /etc/nginx/modules/ngx_http_js_module.so /usr/lib/nginx/modules/ngx_http_js_module.so; do
  [ -f "$m" ] && NJS_MODULE="$m" && break
done
[ -n "$NJS_MODULE" ] || { echo "nginx has no njs module (ngx_http_js_module.so)" >&2; exit 1; }
mkdir -p "$WORK_DIR/tmp"
sed -e "s#{{NJS_MODULE}}#$NJS_MODULE#g" -e "s#{{NJS_DIR}}#$TEMPLATE_DIR#g" -e "s#{{WORK_DIR}}#$WORK_DIR#g" \
    -e "s#{{LISTEN}}#$LISTEN#g" \
    -e "s#{{UPSTREAMS}}#server $CLOUD_UPSTREAM max_fails=1 fail_timeout=${FAIL_TIMEOUT_S}s;#g" \
    "$TEMPLATE_DIR/cluster.conf.template" > "$WORK_DIR/nginx.conf"
if grep -q '{{[A-Z_]*}}' "$WORK_DIR/nginx.conf"; then echo "cluster.conf.template: a placeholder was not filled" >&2; exit 1; fi
exec nginx -c "$WORK_DIR/nginx.conf"
