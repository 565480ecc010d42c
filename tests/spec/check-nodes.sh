#!/bin/bash
# SPDX-License-Identifier: MIT
#
# check-nodes.sh - the xenstore nodes the code uses against the spec.
#
# The spec is the section "Xen transport: xenstore nodes" of
# protocol/xenshare_proto.h: one list of the backend directory's nodes
# (/local/domain/0/backend/xenshare/<domid>/<devid>/) and one of the
# frontend directory's (/local/domain/<domid>/device/xenshare/<devid>/).
# This checks, with no build, root or Xen:
#   - every node a source file below names is documented in the header,
#     in the list of the directory the code uses it in (when the code
#     shows which; otherwise in either list);
#   - every documented node is used by some of that code.
# Standard xenbus nodes (state, online, frontend, frontend-id, backend,
# backend-id) count as documented if the section mentions them at all.
#
# Node names are found by pattern, never by line number, so ordinary
# edits of the sources do not break it:
#   C (comments removed, lines joined):
#     - a string literal argument right after a directory argument
#       (be, fe, d->be, x->fe, ...): xread(m, d->be, "tag"),
#       read_u64(h, be, "max-io", ...), write_node(h, xt, x->fe, "version", ...);
#     - helpers whose directory is implicit (IMPLICIT below):
#       xwrite(m, d, "status", ...) (backend), NUM("num-rings", ...) (frontend);
#     - snprintf formats that are a node name with conversions:
#       "ring-ref%u-%u", "event-channel-%u" (directory unknown);
#     - path formats ending in a node: "%s/state", x->be;
#     - string arrays named *_keys (policy_keys), directory unknown.
#   Shell (xenshare-ctl, whole-line comments removed):
#     - "$be/NODE" (backend), "$fe/NODE" (frontend), "$dir/NODE" (either),
#       "$XS_BE_ROOT/$a/$b/NODE", "/local/domain/$a/device/xenshare/$b/NODE";
#     - the keys xen_check_key accepts (case labels): `set` writes them
#       as "$be/$k".
# Patterns are normalised to *: ring-ref<i>-<j> and "ring-ref%u-%u" are
# both ring-ref*-*.
#
# usage: tests/spec/check-nodes.sh
# Output: ok / not ok lines, then "N passed, N failed, N skipped"; exit
# status non-zero if anything failed.

set -u
export LC_ALL=C

# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

HEADER=protocol/xenshare_proto.h
# FILE  REQUIRED (1: must name some node; 0: may go through another file)
SOURCES=(
	"backend/daemon/xenbus.c 1"
	"transport/xen_front.c 1"
	"transport/xen_back.c 0"
	"frontend/xenbus_front.c 0"
	"xenstore-scripts/xenshare-ctl 1"
)
# C helpers whose directory is not an argument: NAME  NODE-ARG  DIRECTORY
IMPLICIT=(
	"xwrite 3 backend"
	"NUM 1 frontend"
)
STANDARD="state online frontend frontend-id backend backend-id"

ID='[A-Za-z_][A-Za-z0-9_]*'
NODE='[a-z][a-z0-9-]*'
# A C format that is a node name with conversions, e.g. ring-ref%u-%u.
FMT_NODE="^[a-z][a-z0-9-]*(%[0-9]*(hh|h|ll|l|z|j|t)?[udx][a-z0-9-]*)+\$"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/xenshare-spec.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

# norm: node names on stdin, patterns made *.
norm() {
	sed -E -e 's/<[^>]*>/*/g' \
		-e 's/%[0-9]*(hh|h|ll|l|z|j|t)?[udxs]/*/g' \
		-e 's/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/*/g'
}

# ---- the header ------------------------------------------------------------

# The section: from its title to the end of the comment after it.
header_section() {
	awk '
	/Xen transport: xenstore nodes/ { on = 1; print; next }
	!on { next }
	{ print }
	/^[ \t]*\*\/[ \t]*$/ { exit }
	' "$XS_ROOT/$HEADER"
}

# "DIR NAME" for each entry of the two lists: lines " *   name  text"
# (three spaces) between "Backend directory" / "Frontend directory" and
# the next of them or "Handshake".
header_nodes() {
	header_section | awk '
	/Backend directory/ { zone = "backend"; next }
	/Frontend directory/ { zone = "frontend"; next }
	/Handshake/ { zone = "" }
	zone != "" && /^ \*   [a-z]/ { print zone, $2 }
	'
}

# ---- C sources -----------------------------------------------------------

# c_flat FILE: the file as one line, comments removed, char literals and
# escapes in strings neutralised (so every " delimits a string literal).
c_flat() {
	awk '
	{
		line = $0
		cont = sub(/\\$/, "", line)
		out = ""
		n = length(line)
		i = 1
		while (i <= n) {
			c = substr(line, i, 1)
			if (incom) {
				if (c == "*" && substr(line, i + 1, 1) == "/") {
					incom = 0
					i += 2
					out = out " "
				} else
					i++
				continue
			}
			if (c == "/" && substr(line, i + 1, 1) == "*") {
				incom = 1
				i += 2
				continue
			}
			if (c == "/" && substr(line, i + 1, 1) == "/")
				break
			if (c == "\"" || c == "\047") {
				j = i + 1
				lit = c
				while (j <= n) {
					d = substr(line, j, 1)
					if (d == "\\") {
						lit = lit "\\_"
						j += 2
						continue
					}
					if (d == c)
						break
					lit = lit d
					j++
				}
				if (c == "\047")
					lit = "\047?"
				out = out lit c
				i = j + 1
				continue
			}
			if (c == "\t")
				c = " "
			out = out c
			i++
		}
		printf "%s ", out
	}
	END { print "" }
	' "$1"
}

# dir_of EXPR: backend for be, d->be, x->be...; frontend for fe...;
# else unknown.
dir_of() {
	case $1 in
	be | *[!A-Za-z0-9_]be) echo backend ;;
	fe | *[!A-Za-z0-9_]fe) echo frontend ;;
	*) echo unknown ;;
	esac
}

# c_nodes FILE: "DIR NAME" lines.
c_nodes() {
	local flat=$TMP/flat m dir name fn argn idir re
	c_flat "$1" >"$flat"

	# A literal right after a directory argument.
	grep -oE "[(,] *($ID(->|\\.))*(be|fe) *, *\"[^\"]*\"" "$flat" |
	while IFS= read -r m; do
		dir=$(sed -E 's/^.*[^A-Za-z0-9_](be|fe) *, *"[^"]*"$/\1/' <<<"$m")
		name=$(sed -E 's/^.*"([^"]*)"$/\1/' <<<"$m")
		echo "$(dir_of "$dir") $name"
	done

	# Helpers with an implicit directory.
	for m in "${IMPLICIT[@]}"; do
		read -r fn argn idir <<<"$m"
		if [ "$argn" -gt 1 ]; then
			re="\\b$fn *\\(([^,;(){}\"]*,){$((argn - 1))} *\"[^\"]*\""
		else
			re="\\b$fn *\\( *\"[^\"]*\""
		fi
		grep -oE "$re" "$flat" | sed -E "s/^.*\"([^\"]*)\"\$/$idir \\1/"
	done

	# snprintf(buf, size, "ring-ref%u-%u", ...).
	grep -oE "\\bsnprintf *\\(([^,;\"]*,){2} *\"[^\"]*\"" "$flat" |
		sed -E 's/^.*"([^"]*)"$/\1/' | grep -E "$FMT_NODE" |
		sed 's/^/unknown /'

	# Path formats ending in a node: "%s/state", x->be.
	grep -oE "\"[^\" ]*%[sud]/$NODE\"( *, *($ID(->|\\.))*$ID)?" "$flat" |
	while IFS= read -r m; do
		name=$(sed -E 's/^"[^"]*\/([^"/]*)".*$/\1/' <<<"$m")
		dir=$(sed -E 's/^"[^"]*"( *, *)?//' <<<"$m")
		echo "$(dir_of "$dir") $name"
	done

	# static const char *const policy_keys[] = { "mode", ... };
	grep -oE "${ID}_keys *\\[[^]]*\\] *= *\\{[^}]*\\}" "$flat" |
		grep -oE '"[^"]*"' | tr -d '"' | sed 's/^/unknown /'
}

# ---- shell sources ---------------------------------------------------------

VAR="\\\$\\{?$ID\\}?"

sh_nodes() {
	local code=$TMP/code
	grep -vE '^[[:space:]]*#' "$1" >"$code"
	grep -oE "\\\$\\{?(be|fe|dir)\\}?/$NODE" "$code" |
		sed -E -e 's/^\$\{?be\}?\//backend /' \
			-e 's/^\$\{?fe\}?\//frontend /' \
			-e 's/^\$\{?dir\}?\//unknown /'
	grep -oE "\\\$\\{?XS_BE_ROOT\\}?/$VAR/$VAR/$NODE" "$code" |
		sed -E 's/^.*\//backend /'
	grep -oE "/local/domain/$VAR/device/xenshare/$VAR/$NODE" "$code" |
		sed -E 's/^.*\//frontend /'
	# The keys `set` writes as "$be/$k": xen_check_key's case labels.
	awk '
	/^xen_check_key\(\)/ { on = 1; next }
	on && /^}/ { exit }
	on && /^[ \t]*[a-z][a-z0-9 |-]*\)/ {
		sub(/^[ \t]*/, "")
		sub(/\).*/, "")
		n = split($0, k, "|")
		for (i = 1; i <= n; i++) {
			gsub(/[ \t]/, "", k[i])
			print "backend", k[i]
		}
	}
	' "$code"
}

# ---- checks ----------------------------------------------------------------

# documented DIR NAME: 0 if NAME is in DIR's list (DIR unknown: either).
documented() {
	awk -v d="$1" -v n="$2" '$2 == n && (d == "unknown" || $1 == d) { f = 1 }
	    END { exit !f }' "$TMP/doc"
}

standard() {
	local s
	for s in $STANDARD; do
		[ "$s" = "$1" ] && return 0
	done
	return 1
}

mentioned() {
	grep -qE "(^|[^a-z0-9-])$1([^a-z0-9-]|\$)" "$TMP/section"
}

header_section >"$TMP/section"
header_nodes | norm | sort -u >"$TMP/doc"
for d in backend frontend; do
	n=$(grep -c "^$d " "$TMP/doc")
	if [ "$n" -ge 5 ]; then
		ok "header: the $d directory list has $n nodes"
	else
		not_ok "header: the $d directory list has $n nodes" \
			"could not parse the section \"Xen transport: xenstore nodes\" of $HEADER"
	fi
done

: >"$TMP/used"
FILES=
for s in "${SOURCES[@]}"; do
	read -r f required <<<"$s"
	FILES+="${FILES:+, }$f"
	if [ ! -f "$XS_ROOT/$f" ]; then
		not_ok "$f exists" "missing"
		continue
	fi
	case $f in
	*.c | *.h) c_nodes "$XS_ROOT/$f" ;;
	*) sh_nodes "$XS_ROOT/$f" ;;
	esac >"$TMP/raw"
	# Drop what is not a node name (a literal that only looked like one).
	norm <"$TMP/raw" | grep -E '^(backend|frontend|unknown) [a-z][a-z0-9*-]*$' |
		sort -u >"$TMP/nodes"
	if [ ! -s "$TMP/nodes" ]; then
		if [ "$required" = 1 ]; then
			not_ok "$f: node names found" "none: the patterns no longer match the code"
		else
			diag "$f names no xenstore node itself"
		fi
		continue
	fi
	ok "$f: $(awk '{ print $2 }' "$TMP/nodes" | sort -u | wc -l) node names found"
	# Per node: the directories it is used in; unknown only when the
	# code shows none.
	awk '{ print $2 }' "$TMP/nodes" | sort -u >"$TMP/names"
	while read -r name; do
		dirs=$(awk -v n="$name" '$2 == n && $1 != "unknown" { print $1 }' "$TMP/nodes")
		[ -n "$dirs" ] || dirs=unknown
		for d in $dirs; do
			echo "$f $d $name" >>"$TMP/used"
			if [ "$d" = unknown ]; then
				what="node $name"
			else
				what="node $name ($d directory)"
			fi
			what="$what used by $f is documented in the header"
			if documented "$d" "$name"; then
				ok "$what"
			elif standard "$name" && mentioned "$name"; then
				ok "$what"
			elif [ "$d" != unknown ] && documented unknown "$name"; then
				not_ok "$what" "documented only for the other directory"
			else
				not_ok "$what" "not in the section \"Xen transport: xenstore nodes\" of $HEADER"
			fi
		done
	done <"$TMP/names"
done

while read -r d name; do
	if awk -v d="$d" -v n="$name" '$3 == n && ($2 == d || $2 == "unknown") { f = 1 }
	    END { exit !f }' "$TMP/used"; then
		ok "documented $d node $name is used by some code"
	else
		not_ok "documented $d node $name is used by some code" \
			"none of $FILES names it"
	fi
done <"$TMP/doc"

xs_summary
