#!/usr/bin/env python3
"""Lists the functions in src/ longer than a limit (default 80 lines), longest first.

A function is a brace block that opens at the end of a line that is not a class, struct,
namespace, enum or initializer, found by counting braces outside strings, characters and
comments. Good enough for this code base's clang-format layout; used by the lead and in review,
not by CI. Usage: scripts/long_functions.py [LIMIT] [DIR...]
"""
import os
import re
import sys

NOT_FUNCTION = re.compile(r'^\s*(namespace|class|struct|enum|union|extern)\b|=\s*\{?$|^\s*\{')


def strip(text):
    """Blanks out comments, strings and character literals, keeping line breaks."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append('\n' * text.count('\n', i, j))
            i = j
        elif text.startswith('R"(', i):
            j = text.find(')"', i)
            j = n if j < 0 else j + 2
            out.append('""' + '\n' * text.count('\n', i, j))
            i = j
        elif c == "'" and i > 0 and text[i - 1].isalnum():
            i += 1  # digit separator
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def functions(path):
    lines = strip(open(path, encoding='utf-8').read()).split('\n')
    stack = []
    for number, line in enumerate(lines, 1):
        for c in line:
            if c == '{':
                head = line.split('{')[0]
                starts = line.rstrip().endswith('{') and ')' in line + (lines[number - 2] if number > 1 else '')
                stack.append((number, starts and not NOT_FUNCTION.search(head) and not stack_is_function(stack)))
            elif c == '}' and stack:
                start, is_function = stack.pop()
                if is_function:
                    yield start, number - start + 1


def stack_is_function(stack):
    return any(is_function for _, is_function in stack)


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    roots = sys.argv[2:] or ['src']
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                if name.endswith(('.cpp', '.h')):
                    path = os.path.join(folder, name)
                    found += [(length, path, start) for start, length in functions(path) if length > limit]
    for length, path, start in sorted(found, reverse=True):
        print(f'{length:5d}  {path}:{start}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
