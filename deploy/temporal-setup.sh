#!/bin/sh
# The one-shot `temporal-setup` service (temporalio/admin-tools), run once the server is
# healthy: DEE's namespace with its retention, and DEE's search attributes, without which
# the Web UI cannot filter runs by status or plan and `dee runs`/what-if queries fail.
# Idempotent: an existing namespace or attribute is left as it is.
#
# The attributes are workflows/search_attributes.py's ALL_KEYS (tests/test_compose.py
# checks this list against it): NAME=TYPE.
set -eu

DEE_SEARCH_ATTRIBUTES="DeeTenant=Keyword DeePlanId=Keyword DeePlanVersion=Int DeeContactId=Keyword DeeStatus=Keyword DeeStep=Keyword"

ns="$TEMPORAL_NAMESPACE"
if temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1; then
    echo "temporal-setup: namespace $ns exists; retention set to $TEMPORAL_RETENTION"
    temporal operator namespace update --namespace "$ns" --retention "$TEMPORAL_RETENTION"
else
    echo "temporal-setup: creating namespace $ns (retention $TEMPORAL_RETENTION)"
    temporal operator namespace create --namespace "$ns" --retention "$TEMPORAL_RETENTION" \
        --description "DEE outbound runs"
fi

# A new namespace reaches every frontend through its cache: list until it answers (bounded).
tries=0
until temporal operator search-attribute list --namespace "$ns" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "temporal-setup: namespace $ns not usable after 60 tries" >&2
        exit 1
    fi
    sleep 1
done

existing=$(temporal operator search-attribute list --namespace "$ns")
for attribute in $DEE_SEARCH_ATTRIBUTES; do
    name=${attribute%%=*}
    type=${attribute#*=}
    if printf '%s\n' "$existing" | grep -qw "$name"; then
        echo "temporal-setup: search attribute $name exists"
    else
        echo "temporal-setup: creating search attribute $name ($type)"
        temporal operator search-attribute create --namespace "$ns" --name "$name" --type "$type"
    fi
done
