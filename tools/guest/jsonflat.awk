# Flatten JSON into "path=value" lines, one per scalar, for the nimbus test
# guest (busybox awk, no jq).  Object keys and array indexes are joined with
# dots:  {"links": [{"id": "tap1"}]}  ->  links.0.id=tap1
# Strings keep their escapes except \" \\ \/ which are unescaped; null prints
# as an empty value.  Input may span any number of lines.
#
# Usage: awk -f jsonflat.awk file.json

{ buf = buf $0 "\n" }

END {
    n = length(buf); i = 1; depth = 0; bad = 0
    parse_value("")
    if (bad) { print "jsonflat: parse error near offset " i > "/dev/stderr"; exit 1 }
}

function skip_ws(   c) {
    while (i <= n) {
        c = substr(buf, i, 1)
        if (c != " " && c != "\t" && c != "\n" && c != "\r") return
        i++
    }
}

function emit(path, value) { print (path == "" ? "." : path) "=" value }

function join(path, key) { return path == "" ? key : path "." key }

function parse_string(   out, c, d) {
    out = ""; i++                         # opening quote
    while (i <= n) {
        c = substr(buf, i, 1)
        if (c == "\"") { i++; return out }
        if (c == "\\") {
            d = substr(buf, i + 1, 1)
            if (d == "\"" || d == "\\" || d == "/") out = out d
            else if (d == "n" || d == "t" || d == "r") out = out " "
            else out = out "\\" d
            i += 2
            continue
        }
        out = out c; i++
    }
    bad = 1; return out
}

function parse_value(path,   c, key, idx, start) {
    if (bad) return
    skip_ws()
    c = substr(buf, i, 1)
    if (c == "{") {
        i++; skip_ws()
        if (substr(buf, i, 1) == "}") { i++; return }
        while (i <= n && !bad) {
            skip_ws()
            if (substr(buf, i, 1) != "\"") { bad = 1; return }
            key = parse_string()
            skip_ws()
            if (substr(buf, i, 1) != ":") { bad = 1; return }
            i++
            parse_value(join(path, key))
            skip_ws()
            c = substr(buf, i, 1); i++
            if (c == "}") return
            if (c != ",") { bad = 1; return }
        }
        bad = 1; return
    }
    if (c == "[") {
        i++; skip_ws(); idx = 0
        if (substr(buf, i, 1) == "]") { i++; return }
        while (i <= n && !bad) {
            parse_value(join(path, idx)); idx++
            skip_ws()
            c = substr(buf, i, 1); i++
            if (c == "]") return
            if (c != ",") { bad = 1; return }
        }
        bad = 1; return
    }
    if (c == "\"") { emit(path, parse_string()); return }
    # number, true, false, null
    start = i
    while (i <= n && index(",]} \t\r\n", substr(buf, i, 1)) == 0) i++
    if (i == start) { bad = 1; return }
    c = substr(buf, start, i - start)
    emit(path, c == "null" ? "" : c)
}
