# drover lab stand-in for kubeadm/kubelet/kubectl — NOT Kubernetes. See lab/k8s-standin/README.md.
"""Flag parsing shaped like cobra's (--flag=value, --flag value, repeated flags, shorthands)."""


class UsageError(Exception):
    pass


def parse(argv, value_flags, bool_flags=(), shorthands=None):
    """(positionals, {flag: [values]}); unknown flags raise UsageError in cobra's words."""
    shorthands = shorthands or {}
    positionals, flags = [], {}
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            positionals.extend(argv[index:])
            break
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
            continue
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
        else:
            short, eq, value = arg[1:].partition("=")
            if short not in shorthands and short != "v":
                raise UsageError(f"unknown shorthand flag: '{short[0]}' in {arg}")
            name = shorthands.get(short, "v")
        if name == "v":
            if not eq and index < len(argv) and argv[index].isdigit():
                index += 1
            continue
        if name in bool_flags:
            flags.setdefault(name, []).append(value if eq else "true")
            continue
        if name not in value_flags:
            raise UsageError(f"unknown flag: --{name}")
        if not eq:
            if index >= len(argv):
                raise UsageError(f"flag needs an argument: --{name}")
            value = argv[index]
            index += 1
        flags.setdefault(name, []).append(value)
    return positionals, flags


def last(flags, name, default=None):
    values = flags.get(name)
    return values[-1] if values else default


def listed(flags, name):
    return [item.strip() for value in flags.get(name, []) for item in value.split(",") if item.strip()]


def truthy(flags, name):
    return last(flags, name, "false").lower() in ("true", "1", "yes")
