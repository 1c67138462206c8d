# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""Strict decoding of one configuration document against schema.py, in encoding/json's words."""
import re

from .schema import ListOf, MapOf, Struct

_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), "uint32": (0, 2**32 - 1)}


class DecodeErrors:
    def __init__(self):
        self.type_errors = []
        self.unknown = []


def json_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def decode(value, kind, errors, path="", struct_name=""):
    """Checks value against kind; collects errors; returns the value (None where it does not fit)."""
    if value is None:
        return None
    jtype = json_type(value)

    def mismatch(go_type):
        where = f"Go struct field {struct_name}.{path} of type {go_type}" if struct_name else f"Go value of type {go_type}"
        errors.type_errors.append(f"json: cannot unmarshal {jtype} into {where}")
        return None

    if isinstance(kind, Struct):
        if jtype != "object":
            return mismatch(kind.go)
        out = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key not in kind.fields:
                errors.unknown.append(child)
                continue
            out[key] = decode(item, kind.fields[key], errors, child, kind.name)
        return out
    if isinstance(kind, ListOf):
        if jtype != "array":
            return mismatch(kind.go)
        return [decode(item, kind.item, errors, path, struct_name) for item in value]
    if isinstance(kind, MapOf):
        if jtype != "object":
            return mismatch(kind.go)
        return {str(key): decode(item, kind.value, errors, path, struct_name) for key, item in value.items()}
    if kind in ("string", "duration", "time"):
        if jtype != "string":
            return mismatch("string" if kind == "string" else {"duration": "v1.Duration", "time": "v1.Time"}[kind])
        if kind == "duration" and not _DURATION.match(value):
            errors.type_errors.append(f'time: invalid duration "{value}"')
            return None
        if kind == "time" and not _TIME.match(value):
            errors.type_errors.append(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" as "2006"')
            return None
        return value
    if kind in _INT_RANGES:
        if jtype != "number" or isinstance(value, float) and not value.is_integer():
            return mismatch(kind)
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            errors.type_errors.append(f"json: cannot unmarshal number {value} into Go struct field {struct_name}.{path} of type {kind}")
            return None
        return int(value)
    if kind == "bool":
        return value if jtype == "bool" else mismatch("bool")
    if kind == "float":
        return value if jtype == "number" else mismatch("float64")
    if kind == "quantity":
        if jtype == "number" or jtype == "string" and _QUANTITY.match(value):
            return value
        if jtype == "string":
            errors.type_errors.append("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
            return None
        return mismatch("resource.Quantity")
    if kind == "intorstring":
        return value if jtype in ("number", "string") else mismatch("intstr.IntOrString")
    return value


def parse_duration(text):
    """Seconds in a Go duration string ("24h", "1h30m", "90s")."""
    if text in ("0", ""):
        return 0.0
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    sign = -1 if text.startswith("-") else 1
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text):
        total += float(number) * units[unit]
    return sign * total


def format_duration(seconds):
    """Go's Duration.String() for whole seconds: 24h0m0s, 5m0s, 30s."""
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
