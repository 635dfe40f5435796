#!/usr/bin/env bash
# t0013: a member who passed through a commune.  Lê Văn A moves C1 → C2 → C3,
# after Trần Văn B moved C4 → C2 (so C3's past reaches two hops back).
# C2's feed keeps the op that received the member, and that op names the
# transfer in C1's feed; so what C2 may read must still include C1's feed
# after the member left, or a fresh device for C2, restored from its
# district, would hold ops waiting forever for a past it may not read (the
# nation-scale simulation found this: docs/SCALE.md §4).
. "$(dirname "$0")/lib.sh"

ml() { "$ML" --home "$TMP/$1" "${@:2}"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

must ml nat network create --name "Tổng Liên đoàn Lao động Việt Nam"
NET=$(ml nat --json network show | jget 'd["network"]')
must ml nat unit create --parent "$NET" --name "LĐLĐ Hà Nội" --level province
must ml nat unit create --parent "LĐLĐ Hà Nội" --name "LĐLĐ huyện Gia Lâm" --level district
for c in "CĐCS Xã Kim Sơn" "CĐCS Xã Phú Thị" "CĐCS Xã Dương Xá" "CĐCS Xã Đặng Xá"; do
	must ml nat unit create --parent "LĐLĐ huyện Gia Lâm" --name "$c" --level base_union
done
must ml nat numbers delegate --unit "LĐLĐ Hà Nội" --count 1000
must ml nat numbers delegate --unit "LĐLĐ huyện Gia Lâm" --count 100
# The national device plays the communes' officer and the district's approver.
me=$(ml nat device show | head -1)
must ml nat grant "$me" --unit "LĐLĐ huyện Gia Lâm" --role officer
must ml nat grant "$me" --unit "LĐLĐ huyện Gia Lâm" --role approver
declare -A KEY
for c in c1 c2 c3; do
	must ml "$c" network join "$NET"
	KEY[$c]=$(ml "$c" device show | head -1)
done
must ml nat grant "${KEY[c1]}" --unit "CĐCS Xã Kim Sơn" --role officer
must ml nat grant "${KEY[c2]}" --unit "CĐCS Xã Phú Thị" --role officer
must ml nat grant "${KEY[c3]}" --unit "CĐCS Xã Dương Xá" --role officer

B=$(ml nat --json member add --unit "CĐCS Xã Đặng Xá" --name "Trần Văn B" --id-number 001090000002 \
	--join-date 01/01/2020 | jget 'd["member"]')
must ml nat member submit "$B"
must ml nat member approve "$B"
must ml nat member transfer "$B" --to "CĐCS Xã Phú Thị"
for verb in submit approve receive submit approve; do must ml nat member "$verb" "$B"; done
M=$(ml nat --json member add --unit "CĐCS Xã Kim Sơn" --name "Lê Văn A" --id-number 001090000001 \
	--join-date 01/01/2020 | jget 'd["member"]')
must ml nat member submit "$M"
must ml nat member approve "$M"
for to in "CĐCS Xã Phú Thị" "CĐCS Xã Dương Xá"; do
	must ml nat member transfer "$M" --to "$to"
	for verb in submit approve receive submit approve; do must ml nat member "$verb" "$M"; done
done

where() { [ "$(ml nat --json member show "$M" | jget 'd["unit_name"] + " " + d["status"]')" = "CĐCS Xã Dương Xá active" ]; }
check "the member ends in the third commune, active" where

# restore C: a fresh store with C's device key, filled from the national node's bundle for it
restore() {
	local dir=$TMP/fresh-$1
	mkdir -p "$dir" && cp "$TMP/$1/device.key" "$dir/" &&
		"$ML" --home "$dir" network join "$NET" >/dev/null &&
		ml nat bundle export -o "$TMP/$1.mlb" --for "${KEY[$1]}" >/dev/null &&
		"$ML" --home "$dir" --json bundle import "$TMP/$1.mlb" >"$TMP/$1.import.json" &&
		[ "$(jget 'd["bundles"][0]["waiting"]' <"$TMP/$1.import.json")" = 0 ] &&
		[ "$("$ML" --home "$dir" --json status | jget 'd["waiting"]')" = 0 ]
}
check "C2, which the member passed through, restores with nothing waiting" restore c2
check "C1, where the member began, restores with nothing waiting" restore c1
check "C3, where the member is, restores with nothing waiting (two hops back)" restore c3
history() {
	"$ML" --home "$TMP/fresh-c2" --json member history "$M" >"$TMP/h.json" &&
		[ "$(jget 'sum(1 for h in d["history"] if h["type"] == "member_receive")' <"$TMP/h.json")" -ge 1 ]
}
check "C2's restored store shows the member's history with its reception there" history
outside() { # C1 never held the ops written in C3 after the member left C2
	! "$ML" --home "$TMP/fresh-c1" --json member show "$M" | grep -q '"unit_name": "CĐCS Xã Dương Xá"'
}
check "C1 does not learn where the member went after C2" outside
audit() { "$ML" --home "$TMP/fresh-c2" audit verify >/dev/null; }
check "C2's restored store passes audit verify" audit

done_testing
