# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""
A YAML reader and writer for what Kubernetes configuration files and manifests use (Python's standard
library has none): block mappings and sequences, plain/quoted/block scalars, flow collections, comments,
several documents. Scalars resolve as sigs.k8s.io/yaml (go-yaml v2, YAML 1.1) resolves them, so `yes` is a
boolean and `"6443"` a string. Duplicate keys are an error, as in kubeadm's strict decoding.
Anchors, aliases and tags other than the core ones are refused with a message naming the stand-in.
"""
import json
import re


class YamlError(ValueError):
    def __init__(self, line, message):
        super().__init__(f"yaml: line {line}: {message}")
        self.line = line


_BOOL_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_BOOL_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_HEX = re.compile(r"^[-+]?0x[0-9a-fA-F_]+$")
_OCT = re.compile(r"^[-+]?0[0-7_]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")


def resolve_plain(text):
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _HEX.match(text):
        return int(text.replace("_", ""), 16)
    if _OCT.match(text):
        return int(text.replace("_", ""), 8)
    if _FLOAT.match(text) and any(ch.isdigit() for ch in text):
        return float(text.replace("_", ""))
    if text in (".inf", ".Inf", ".INF", "+.inf"):
        return float("inf")
    if text in ("-.inf", "-.Inf", "-.INF"):
        return float("-inf")
    if text in (".nan", ".NaN", ".NAN"):
        return float("nan")
    return text


class _Line:
    __slots__ = ("number", "indent", "text")

    def __init__(self, number, indent, text):
        self.number = number
        self.indent = indent
        self.text = text


def _strip_comment(text):
    """Removes a trailing comment outside quotes (a '#' at the start or after whitespace)."""
    quote = None
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                if quote == "'" and index + 1 < len(text) and text[index + 1] == "'":
                    continue
                if quote == '"' and _escaped(text, index):
                    continue
                quote = None
        elif char in "'\"" and (index == 0 or text[index - 1] in " \t[{,:-"):
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


def _escaped(text, index):
    count = 0
    while index - 1 - count >= 0 and text[index - 1 - count] == "\\":
        count += 1
    return count % 2 == 1


def split_documents(source):
    """Splits a stream on '---' lines; returns [(first line number, text)], empty documents dropped."""
    docs, current, start = [], [], 1
    for number, raw in enumerate(source.split("\n"), start=1):
        if raw.startswith("---") and (len(raw) == 3 or raw[3] in " \t"):
            docs.append((start, "\n".join(current)))
            rest = _strip_comment(raw[3:]).strip()
            current, start = ([rest], number) if rest else ([], number + 1)
            continue
        if raw.rstrip() == "...":
            docs.append((start, "\n".join(current)))
            current, start = [], number + 1
            continue
        current.append(raw)
    docs.append((start, "\n".join(current)))
    return [(start, text) for start, text in docs if any(_strip_comment(line).strip() and not line.lstrip().startswith("%") for line in text.split("\n"))]


def load_all(source):
    """Every document of a YAML stream, in order (empty documents skipped)."""
    if "\t" in "".join(line[: len(line) - len(line.lstrip())] for line in source.split("\n")):
        bad = next(i for i, line in enumerate(source.split("\n"), 1) if "\t" in line[: len(line) - len(line.lstrip())])
        raise YamlError(bad, "found character that cannot start any token (a tab used for indentation)")
    return [_Parser(text, start).parse() for start, text in split_documents(source)]


def load(source):
    docs = load_all(source)
    return docs[0] if docs else None


class _Parser:
    def __init__(self, text, first_line):
        self.raw = text.split("\n")
        self.first = first_line
        self.lines = []
        for index, raw in enumerate(self.raw):
            stripped = _strip_comment(raw)
            if stripped.strip() == "" or stripped.lstrip().startswith("%"):
                continue
            self.lines.append(_Line(first_line + index, len(stripped) - len(stripped.lstrip(" ")), stripped.strip()))
        self.pos = 0

    def parse(self):
        if not self.lines:
            return None
        value = self.block(self.lines[0].indent)
        if self.pos < len(self.lines):
            line = self.lines[self.pos]
            raise YamlError(line.number, "did not find expected <document start>")
        return value

    def peek(self):
        return self.lines[self.pos] if self.pos < len(self.lines) else None

    def block(self, indent):
        line = self.peek()
        if line.text.startswith("- ") or line.text == "-":
            return self.sequence(line.indent)
        if _mapping_key(line.text) is not None:
            return self.mapping(line.indent)
        # A lone scalar or flow collection as the whole node.
        self.pos += 1
        text = line.text
        return self.scalar_with_continuation(text, line, indent - 1)

    def sequence(self, indent):
        items = []
        while True:
            line = self.peek()
            if line is None or line.indent < indent:
                break
            if line.indent > indent:
                raise YamlError(line.number, "bad indentation of a sequence entry")
            if not (line.text.startswith("- ") or line.text == "-"):
                break
            rest = line.text[1:].lstrip(" ")
            if rest == "":
                self.pos += 1
                nxt = self.peek()
                items.append(self.block(nxt.indent) if nxt is not None and nxt.indent > indent else None)
                continue
            # "- key: value" or "- - x": the rest is a node whose indentation is where it starts.
            inner = indent + (len(line.text) - len(rest))
            self.lines[self.pos] = _Line(line.number, inner, rest)
            if rest.startswith("- ") or rest == "-" or _mapping_key(rest) is not None:
                items.append(self.block(inner))
            else:
                self.pos += 1
                items.append(self.scalar_with_continuation(rest, line, indent))
        return items

    def mapping(self, indent):
        result = {}
        while True:
            line = self.peek()
            if line is None or line.indent < indent:
                break
            if line.indent > indent:
                raise YamlError(line.number, "mapping values are not allowed in this context")
            parsed = _mapping_key(line.text)
            if parsed is None:
                if line.text.startswith("- "):
                    break
                raise YamlError(line.number, "could not find expected ':'")
            key, rest = parsed
            if key in result:
                raise YamlError(line.number, f'key "{key}" already set in map')
            self.pos += 1
            if rest == "":
                nxt = self.peek()
                if nxt is not None and (nxt.indent > indent or (nxt.indent == indent and (nxt.text.startswith("- ") or nxt.text == "-"))):
                    result[key] = self.block(nxt.indent)
                else:
                    result[key] = None
            else:
                result[key] = self.scalar_with_continuation(rest, line, indent)
        return result

    def scalar_with_continuation(self, text, line, parent_indent):
        if text[0] in "&*":
            raise YamlError(line.number, "anchors and aliases are not supported by the drover lab stand-in's YAML reader")
        if text.startswith("!!"):
            tag, _, text = text.partition(" ")
            if tag not in ("!!str", "!!int", "!!bool", "!!float", "!!null", "!!map", "!!seq"):
                raise YamlError(line.number, f"tag {tag} is not supported by the drover lab stand-in's YAML reader")
            if tag == "!!str" and text and text[0] not in "'\"":
                return text
        if text[0] in "|>":
            return self.block_scalar(text, line, parent_indent)
        if text[0] in "[{":
            return self.flow(text, line, parent_indent)
        if text[0] in "'\"":
            return self.quoted(text, line, parent_indent)
        # A plain scalar may continue on more-indented lines (folded with spaces).
        parts = [text]
        while True:
            nxt = self.peek()
            if nxt is None or nxt.indent <= parent_indent:
                break
            parts.append(nxt.text)
            self.pos += 1
        plain = " ".join(parts)
        if ": " in plain and len(parts) == 1:
            raise YamlError(line.number, "mapping values are not allowed in this context")
        return resolve_plain(plain)

    def more_text(self, text, line, parent_indent, done):
        """Joins following lines (raw, comments kept) until done(text) holds."""
        index = line.number - self.first + 1
        while not done(text):
            if index >= len(self.raw):
                raise YamlError(line.number, "found unexpected end of stream")
            text += "\n" + self.raw[index]
            index += 1
        while self.pos < len(self.lines) and self.lines[self.pos].number < self.first + index:
            self.pos += 1
        return text

    def quoted(self, text, line, parent_indent):
        quote = text[0]
        text = self.more_text(text, line, parent_indent, lambda t: _quoted_end(t, quote) is not None)
        end = _quoted_end(text, quote)
        tail = _strip_comment(text[end + 1:]).strip()
        if tail:
            raise YamlError(line.number, "did not find expected key")
        body = _fold_lines(text[1:end])
        if quote == "'":
            return body.replace("''", "'")
        return _unescape_double(body, line.number)

    def flow(self, text, line, parent_indent):
        def balanced(t):
            return _flow_end(_strip_comment_lines(t)) is not None
        text = self.more_text(text, line, parent_indent, balanced)
        flat = _strip_comment_lines(text)
        end = _flow_end(flat)
        if flat[end + 1:].strip():
            raise YamlError(line.number, "did not find expected key")
        value, _ = _FlowParser(flat[: end + 1], line.number).node(0)
        return value

    def block_scalar(self, header, line, parent_indent):
        match = re.match(r"^([|>])([-+]?)([1-9]?)([-+]?)\s*$", header)
        if not match:
            raise YamlError(line.number, "invalid block scalar header")
        style, chomp, explicit = match.group(1), match.group(2) or match.group(4), match.group(3)
        index = line.number - self.first + 1
        body = []
        while index < len(self.raw):
            raw = self.raw[index]
            if raw.strip() and len(raw) - len(raw.lstrip(" ")) <= parent_indent:
                break
            body.append(raw)
            index += 1
        while self.pos < len(self.lines) and self.lines[self.pos].number < self.first + index:
            self.pos += 1
        content = [b for b in body if b.strip()]
        if explicit:
            width = parent_indent + int(explicit) if parent_indent >= 0 else int(explicit)
        else:
            width = min((len(b) - len(b.lstrip(" ")) for b in content), default=0)
        lines = [b[width:] if len(b) >= width else "" for b in body]
        while lines and chomp != "+" and lines[-1].strip() == "":
            lines.pop()
        if style == "|":
            text = "\n".join(lines)
        else:
            text = _fold_block(lines)
        if chomp == "-":
            return text
        if chomp == "+":
            return text + "\n"
        return text + "\n" if lines else ""


def _mapping_key(text):
    """(key, rest) when the line is a "key: value" entry, else None."""
    if text.startswith("- ") or text == "-" or text[0] in "[{|>":
        return None
    if text[0] in "'\"":
        end = _quoted_end(text, text[0])
        if end is None:
            return None
        after = text[end + 1:]
        if after.startswith(":") and (len(after) == 1 or after[1] == " "):
            key = text[1:end].replace("''", "'") if text[0] == "'" else _unescape_double(text[1:end], 0)
            return key, after[1:].strip()
        return None
    match = re.match(r"^([^#]*?[^\s])\s*:(?:\s+(.*))?$", text)
    if not match or match.group(1).startswith(("&", "*", "!")):
        return None
    key = match.group(1)
    if ": " in key:
        return None
    resolved = resolve_plain(key)
    return (key if not isinstance(resolved, bool) else key), (match.group(2) or "").strip()


def _quoted_end(text, quote):
    index = 1
    while index < len(text):
        char = text[index]
        if quote == "'" and char == "'":
            if index + 1 < len(text) and text[index + 1] == "'":
                index += 2
                continue
            return index
        if quote == '"' and char == '"' and not _escaped(text, index):
            return index
        index += 1
    return None


def _fold_lines(text):
    """Line folding inside a multi-line quoted scalar: a line break is a space, an empty line a newline."""
    if "\n" not in text:
        return text
    parts = [part.strip() for part in text.split("\n")]
    out, pending_newlines = parts[0], 0
    for part in parts[1:]:
        if part == "":
            pending_newlines += 1
            continue
        out += ("\n" * pending_newlines) if pending_newlines else " "
        out += part
        pending_newlines = 0
    return out + "\n" * pending_newlines


def _fold_block(lines):
    out = ""
    previous_blank_or_more = True
    for index, line in enumerate(lines):
        if index == 0:
            out = line
        elif line == "":
            out += "\n"
        elif line.startswith(" ") or previous_blank_or_more and out.endswith("\n"):
            out += ("\n" if not out.endswith("\n") else "") + line
        else:
            out += " " + line
        previous_blank_or_more = line == "" or line.startswith(" ")
    return out


_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0"}


def _unescape_double(text, line):
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        code = text[index + 1] if index + 1 < len(text) else ""
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            index += 2
        elif code in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[code]
            out.append(chr(int(text[index + 2: index + 2 + width], 16)))
            index += 2 + width
        else:
            raise YamlError(line, "found unknown escape character while parsing a quoted scalar")
    return "".join(out)


def _strip_comment_lines(text):
    return "\n".join(_strip_comment(line) for line in text.split("\n"))


def _flow_end(text):
    depth, quote, index = 0, None, 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote and not (quote == '"' and _escaped(text, index)):
                if quote == "'" and index + 1 < len(text) and text[index + 1] == "'":
                    index += 2
                    continue
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


class _FlowParser:
    def __init__(self, text, line):
        self.text = text
        self.line = line

    def skip(self, index):
        while index < len(self.text) and self.text[index] in " \t\n\r":
            index += 1
        return index

    def node(self, index):
        index = self.skip(index)
        char = self.text[index]
        if char == "[":
            items, index = [], self.skip(index + 1)
            while self.text[index] != "]":
                value, index = self.node(index)
                items.append(value)
                index = self.skip(index)
                if self.text[index] == ",":
                    index = self.skip(index + 1)
                elif self.text[index] != "]":
                    raise YamlError(self.line, "did not find expected ',' or ']'")
            return items, index + 1
        if char == "{":
            result, index = {}, self.skip(index + 1)
            while self.text[index] != "}":
                key, index = self.node(index)
                index = self.skip(index)
                value = None
                if self.text[index] == ":":
                    value, index = self.node(index + 1)
                    index = self.skip(index)
                if key in result:
                    raise YamlError(self.line, f'key "{key}" already set in map')
                result[key if isinstance(key, str) else json.dumps(key)] = value
                if self.text[index] == ",":
                    index = self.skip(index + 1)
                elif self.text[index] != "}":
                    raise YamlError(self.line, "did not find expected ',' or '}'")
            return result, index + 1
        if char in "'\"":
            end = _quoted_end(self.text[index:], char) + index
            body = _fold_lines(self.text[index + 1: end])
            return (body.replace("''", "'") if char == "'" else _unescape_double(body, self.line)), end + 1
        end = index
        while end < len(self.text) and self.text[end] not in ",]}" and not (self.text[end] == ":" and (end + 1 >= len(self.text) or self.text[end + 1] in " ,]}\n")):
            end += 1
        return resolve_plain(" ".join(self.text[index:end].split())), end


# ---- writing ---------------------------------------------------------------------------------------

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@+=-]*$")


def _scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if text and _PLAIN_SAFE.match(text) and resolve_plain(text) == text and not text.endswith(":"):
        return text
    return json.dumps(text)


def dump(value, indent=0):
    """Block-style YAML in the layout kubectl and kubeadm print (keys in the given order)."""
    return "".join(_dump(value, indent)) if isinstance(value, (dict, list)) and value else _scalar(value) + "\n"


def dump_all(docs):
    return "---\n".join(dump(doc) for doc in docs)


def _dump(value, indent):
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                yield f"{pad}{_scalar(key)}:\n"
                yield from _dump(item, indent + 2 if isinstance(item, dict) else indent)
            elif isinstance(item, str) and "\n" in item:
                yield f"{pad}{_scalar(key)}: |{'' if item.endswith(chr(10)) else '-'}\n"
                for text in item.rstrip("\n").split("\n"):
                    yield f"{pad}  {text}\n" if text else "\n"
            else:
                yield f"{pad}{_scalar(key)}: {_scalar(item) if not isinstance(item, (dict, list)) else ('{}' if isinstance(item, dict) else '[]')}\n"
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                lines = list(_dump(item, indent + 2))
                first = lines[0]
                yield f"{pad}- {first[indent + 2:]}"
                yield from lines[1:]
            else:
                yield f"{pad}- {_scalar(item) if not isinstance(item, (dict, list)) else ('{}' if isinstance(item, dict) else '[]')}\n"
