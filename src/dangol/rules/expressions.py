"""The expression language of rule conditions and computed amounts.

Text is parsed by Python's own parser (`ast.parse(mode="eval")`), then every node is
checked against a whitelist and compiled into a tree of closures. Nothing is ever passed
to eval/exec/compile, names resolve only to the declared fields of `vocabulary.ROOTS` and
to the custom event fields the caller declares (`event.fields.<name>`), calls only to
`functions.FUNCTIONS`, and arithmetic only on integers. With bounded text length, node
count, depth and literal size, an expression can neither run code nor run (or allocate)
without bound: the largest value a valid expression can compute is about
(10**15) ** 100, and every evaluation visits each node at most once.
"""

from __future__ import annotations

import ast
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .facts import Facts
from .functions import FUNCTIONS, Getter
from .vocabulary import EVENT_FIELDS, ROOTS, Field, Type, event_field

MAX_LENGTH = 1_000  # characters of expression text
MAX_NODES = 200
MAX_DEPTH = 32
MAX_INT = 10**15  # literal integers; 10**15 KRW is more than any order
MAX_STR = 200  # characters of a literal string
MAX_ITEMS = 100  # elements of a literal list or tuple
NO_FIELDS: Mapping[str, Type] = MappingProxyType({})  # no custom event fields declared


class ExpressionError(ValueError):
    """A refused expression; `column` is 1-based within the expression text."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}" if self.column else self.message


@dataclass(frozen=True, slots=True)
class Expression:
    """A validated, compiled expression. `source` is its canonical text (`ast.unparse`),
    so that formatting never changes a ruleset's hash; equality compares the source only.
    `fields`: the custom event fields it reads (what a change of their declaration touches)."""

    source: str
    type: Type
    evaluate: Getter = field(compare=False, repr=False)
    fields: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __call__(self, facts: Facts) -> object:
        return self.evaluate(facts)


@dataclass(frozen=True, slots=True)
class _Typed:
    get: Getter
    type: Type
    nullable: bool = False
    constant: Any = None  # of `type`, like what `get` returns
    is_constant: bool = False


# Node kinds that get a specific explanation when refused; everything else not handled
# below is refused with its Python name.
_REFUSED = {
    ast.Lambda: "lambda is not allowed",
    ast.ListComp: "comprehensions are not allowed", ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed", ast.GeneratorExp: "generator expressions are not allowed",
    ast.NamedExpr: "assignment (:=) is not allowed",
    ast.JoinedStr: "f-strings are not allowed", ast.FormattedValue: "f-strings are not allowed",
    ast.Subscript: "indexing and slicing ([...]) are not allowed",
    ast.Starred: "unpacking (*) is not allowed",
    ast.Await: "await is not allowed", ast.Yield: "yield is not allowed", ast.YieldFrom: "yield is not allowed",
    ast.Dict: "dictionaries are not allowed", ast.Set: "sets are not allowed; use a list or tuple",
}

_ORDER: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_EQUALITY: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {ast.Eq: operator.eq, ast.NotEq: operator.ne}
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_COLLECTIONS = {Type.STRS: Type.STR, Type.INTS: Type.INT}


def compile_expression(text: object, expect: Type = Type.BOOL, event_fields: Mapping[str, Type] = NO_FIELDS,
                       defaulted: frozenset[str] = frozenset()) -> Expression:
    """Parse, validate and compile `text`; raises ExpressionError (with a column).
    `event_fields`: the custom fields `event.fields.<name>` may read, with their declared types;
    `defaulted`: those of them that always hold a value (a declared default), which may be
    computed with."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be a string")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long; at most {MAX_LENGTH:,} are allowed")
    if "\n" in text.strip() or "\r" in text:
        text = " ".join(text.split())  # YAML folded text: a newline means nothing in an expression
    try:
        with warnings.catch_warnings():  # the parser's SyntaxWarnings about user text are not ours to print
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"not a valid expression: {error.msg}", error.offset) from None
    except (ValueError, RecursionError, MemoryError) as error:  # e.g. null bytes; absurd nesting
        raise ExpressionError(f"not a valid expression: {error}") from None
    _check_size(tree)
    compiler = _Compiler(event_fields, defaulted)
    typed = compiler.compile(tree.body)
    if typed.type is not expect:
        raise ExpressionError(f"the expression gives a {typed.type.value}; a {expect.value} is needed", 1)
    if typed.nullable:
        raise ExpressionError(f"the expression may be missing (None); a {expect.value} is always needed", 1)
    return Expression(ast.unparse(tree), typed.type, typed.get, frozenset(compiler.read))


def _check_size(tree: ast.AST) -> None:
    """Node count and depth, measured without recursion before anything recurses."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(f"the expression has more than {MAX_NODES} parts")
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep", _column(node))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _column(node: ast.AST) -> int | None:
    offset = getattr(node, "col_offset", None)
    return None if offset is None else offset + 1


def _fail(node: ast.AST, message: str) -> ExpressionError:
    return ExpressionError(message, _column(node))


class _Compiler:
    def __init__(self, event_fields: Mapping[str, Type], defaulted: frozenset[str]) -> None:
        self.event_fields = event_fields
        self.defaulted = defaulted
        self.read: set[str] = set()  # the custom event fields the expression reads

    def compile(self, node: ast.expr) -> _Typed:
        method: Callable[[ast.expr], _Typed] | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _fail(node, _REFUSED.get(type(node), f"{type(node).__name__} is not allowed in an expression"))
        return method(node)

    # ---- literals

    def _Constant(self, node: ast.Constant) -> _Typed:
        value = node.value
        if isinstance(value, bool):
            return _constant(value, Type.BOOL)
        if value is None:
            return _constant(None, Type.NONE, nullable=True)
        if isinstance(value, int):
            if abs(value) > MAX_INT:
                raise _fail(node, f"integer literals are limited to {MAX_INT:,}")
            return _constant(value, Type.INT)
        if isinstance(value, str):
            if len(value) > MAX_STR:
                raise _fail(node, f"string literals are limited to {MAX_STR} characters")
            return _constant(value, Type.STR)
        if isinstance(value, float):
            raise _fail(node, "fractions are not allowed: points and money are integers")
        raise _fail(node, f"{type(value).__name__} literals are not allowed")

    def _Tuple(self, node: ast.Tuple | ast.List) -> _Typed:
        if len(node.elts) > MAX_ITEMS:
            raise _fail(node, f"lists are limited to {MAX_ITEMS} items")
        items = [self.compile(element) for element in node.elts]
        kinds = {item.type for item in items}
        if not all(item.is_constant for item in items) or not kinds <= {Type.INT, Type.STR} or len(kinds) > 1:
            raise _fail(node, "a list must hold literal integers or literal strings, all of one kind")
        kind = Type.STRS if kinds == {Type.STR} else Type.INTS
        return _constant(frozenset(item.constant for item in items), kind)

    _List = _Tuple

    # ---- names

    def _Name(self, node: ast.Name) -> _Typed:
        if node.id in ROOTS:
            raise _fail(node, f"`{node.id}` is a record; use one of its fields, e.g. {node.id}.{next(iter(ROOTS[node.id]))}")
        if node.id in FUNCTIONS:
            raise _fail(node, f"`{node.id}` is a function; call it")
        raise _fail(node, f"unknown name `{node.id}`; names start with one of: {', '.join(ROOTS)}")

    def _Attribute(self, node: ast.Attribute) -> _Typed:
        if node.attr.startswith("_"):
            raise _fail(node, f"`{node.attr}`: names starting with an underscore are not allowed")
        inner = node.value
        if isinstance(inner, ast.Attribute) and inner.attr == EVENT_FIELDS and isinstance(inner.value, ast.Name) \
                and inner.value.id == "event":
            return self._event_field(node)
        if not isinstance(inner, ast.Name) or inner.id not in ROOTS:
            raise _fail(node, "fields are read only as root.field (e.g. event.amount) or event.fields.<name>")
        if inner.id == "event" and node.attr == EVENT_FIELDS:
            example = next(iter(sorted(self.event_fields)), "streak")
            raise _fail(node, f"`event.fields` holds the event's custom fields; read one, e.g. event.fields.{example}")
        fields = ROOTS[inner.id]
        declared: Field | None = fields.get(node.attr)
        if declared is None:
            also = ", and fields.<name> (custom fields)" if inner.id == "event" else ""
            raise ExpressionError(f"`{inner.id}` has no field `{node.attr}`; it has: {', '.join(sorted(fields))}{also}",
                                  _attribute_column(node))
        return _Typed(operator.attrgetter(declared.path), declared.type, declared.nullable)

    def _event_field(self, node: ast.Attribute) -> _Typed:
        """`event.fields.<name>`: a custom field declared for the event types of the rule,
        of its declared type, None when the event does not carry it (unless it has a default:
        evaluation puts the default in its place)."""
        name = node.attr
        kind = self.event_fields.get(name)
        if kind is None:
            known = (f"they declare: {', '.join(sorted(self.event_fields))}" if self.event_fields
                     else "they declare none (see event_types)")
            raise ExpressionError(f"`event.fields.{name}` is not declared for the rule's event types; {known}",
                                  _attribute_column(node))
        self.read.add(name)
        declared = event_field(name, kind, name in self.defaulted)
        return _Typed(lambda f: f.fields.get(name), declared.type, declared.nullable)

    # ---- operators

    def _BoolOp(self, node: ast.BoolOp) -> _Typed:
        parts = [self._boolean(value) for value in node.values]
        getters = tuple(part.get for part in parts)
        if isinstance(node.op, ast.And):
            if len(getters) == 2:
                a, b = getters
                return _Typed(lambda f: bool(a(f)) and bool(b(f)), Type.BOOL)
            return _Typed(lambda f: all(g(f) for g in getters), Type.BOOL)
        if len(getters) == 2:
            a, b = getters
            return _Typed(lambda f: bool(a(f)) or bool(b(f)), Type.BOOL)
        return _Typed(lambda f: any(g(f) for g in getters), Type.BOOL)

    def _UnaryOp(self, node: ast.UnaryOp) -> _Typed:
        if isinstance(node.op, ast.Not):
            inner = self._boolean(node.operand).get
            return _Typed(lambda f: not inner(f), Type.BOOL)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self._integer(node.operand)
            if operand.is_constant:
                value = -operand.constant if isinstance(node.op, ast.USub) else operand.constant
                return _constant(value, Type.INT)
            inner = operand.get
            return _Typed(lambda f: -inner(f) if isinstance(node.op, ast.USub) else inner(f), Type.INT)
        raise _fail(node, "the operator ~ is not allowed")

    def _BinOp(self, node: ast.BinOp) -> _Typed:
        if isinstance(node.op, ast.Div):
            raise _fail(node, "true division `/` is not allowed: amounts are integers; use // (floor division)")
        if isinstance(node.op, ast.Pow):
            raise _fail(node, "the power operator ** is not allowed")
        function = _ARITHMETIC.get(type(node.op))
        if function is None:
            raise _fail(node, f"the operator {type(node.op).__name__} is not allowed; use + - * // %")
        left, right = self._integer(node.left), self._integer(node.right)
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and not (right.is_constant and right.constant):
            raise _fail(node.right, "the divisor of // and % must be a literal integer other than 0")
        if left.is_constant and right.is_constant:
            return _constant(function(left.constant, right.constant), Type.INT)
        a, b = left.get, right.get
        if right.is_constant:
            k = right.constant
            return _Typed(lambda f: function(a(f), k), Type.INT)
        return _Typed(lambda f: function(a(f), b(f)), Type.INT)

    def _Compare(self, node: ast.Compare) -> _Typed:
        operands = [self.compile(node.left), *(self.compile(c) for c in node.comparators)]
        tests = [self._comparison(op, operands[i], operands[i + 1], node.comparators[i])
                 for i, op in enumerate(node.ops)]
        if len(tests) == 1:
            return _Typed(tests[0], Type.BOOL)
        return _Typed(lambda f: all(test(f) for test in tests), Type.BOOL)

    def _comparison(self, op: ast.cmpop, left: _Typed, right: _Typed, where: ast.AST) -> Getter:
        a, b = left.get, right.get
        if isinstance(op, (ast.In, ast.NotIn)):
            if right.type is Type.STR:
                element = Type.STR  # a substring
            elif right.type in _COLLECTIONS:
                element = _COLLECTIONS[right.type]
            else:
                raise _fail(where, f"`in` needs a list or a string on its right, not a {right.type.value}")
            if left.type is not element:
                raise _fail(where, f"`in` compares a {left.type.value} with a {right.type.value}")
            negate = isinstance(op, ast.NotIn)
            if right.is_constant:
                values = right.constant
                return (lambda f: a(f) not in values) if negate else (lambda f: a(f) in values)
            if left.nullable or right.nullable:
                # A missing value is in nothing and holds nothing (`None in "a"` would raise).
                def within(f: Facts) -> bool:
                    return (x := a(f)) is not None and (y := b(f)) is not None and x in y
                return (lambda f: not within(f)) if negate else within
            return (lambda f: a(f) not in b(f)) if negate else (lambda f: a(f) in b(f))
        if isinstance(op, (ast.Is, ast.IsNot)):
            raise _fail(where, "`is` is not allowed; use == or !=")
        if type(op) in _EQUALITY:
            if left.type is not right.type and Type.NONE not in (left.type, right.type):
                raise _fail(where, f"comparing a {left.type.value} with a {right.type.value} is always false")
            function = _EQUALITY[type(op)]
        else:
            function = _ORDER[type(op)]
            if left.type is not right.type or left.type not in (Type.INT, Type.STR):
                raise _fail(where, f"< <= > >= compare two integers or two strings, not a {left.type.value} "
                                   f"and a {right.type.value}")
            if left.nullable or right.nullable:
                # A missing value (a member without a birthday) is neither smaller nor larger.
                return lambda f: (x := a(f)) is not None and (y := b(f)) is not None and function(x, y)
        if right.is_constant:
            k = right.constant
            return lambda f: function(a(f), k)
        return lambda f: function(a(f), b(f))

    def _IfExp(self, node: ast.IfExp) -> _Typed:
        test = self._boolean(node.test).get
        yes, no = self.compile(node.body), self.compile(node.orelse)
        if yes.type is not no.type:
            raise _fail(node, f"both branches must have one type, not {yes.type.value} and {no.type.value}")
        y, n = yes.get, no.get
        return _Typed(lambda f: y(f) if test(f) else n(f), yes.type, yes.nullable or no.nullable)

    def _Call(self, node: ast.Call) -> _Typed:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise _fail(node, f"`{name}` is not a function you can call; the functions are: {', '.join(sorted(FUNCTIONS))}")
        function = FUNCTIONS[node.func.id]
        if node.keywords:
            raise _fail(node, f"{function.name}() takes no keyword arguments")
        count = len(node.args)
        if count < len(function.params) or (count > len(function.params) and not function.variadic):
            raise _fail(node, f"wrong number of arguments: {function.doc}")
        args = []
        for index, argument in enumerate(node.args):
            typed = self.compile(argument)
            accepted = function.params[min(index, len(function.params) - 1)]
            if typed.type not in accepted or typed.nullable:
                raise _fail(argument, f"{function.name}() does not accept a {'missing ' if typed.nullable else ''}"
                                      f"{typed.type.value}: {function.doc}{_default_hint(argument)}")
            args.append(typed.get)
        return _Typed(function.build(tuple(args)), function.result)

    # ---- helpers

    def _boolean(self, node: ast.expr) -> _Typed:
        typed = self.compile(node)
        if typed.type is not Type.BOOL:
            raise _fail(node, f"`and`, `or`, `not` and `if` need a boolean, not a {typed.type.value}")
        if typed.nullable:
            # Whether a missing flag counts as false is the author's to say, not ours to guess.
            raise _fail(node, "`and`, `or`, `not` and `if` need a boolean that is always there; this one may be "
                              f"missing (None): compare it, e.g. `== True`{_default_hint(node)}")
        return typed

    def _integer(self, node: ast.expr) -> _Typed:
        typed = self.compile(node)
        if typed.type is not Type.INT or typed.nullable:
            raise _fail(node, f"arithmetic needs integers, not a {'possibly missing ' if typed.nullable else ''}"
                              f"{typed.type.value}{_default_hint(node) if typed.type is Type.INT else ''}")
        return typed


def _default_hint(node: ast.expr) -> str:
    """For a custom field that may be missing: how to make it always there."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == EVENT_FIELDS:
        return (f" (or declare a default for `{node.attr}` under event_types, in every event type "
                "of the rule, to compute with it)")
    return ""


def _attribute_column(node: ast.Attribute) -> int:
    """Where the attribute's name starts (1-based), e.g. `tierx` in `member.tierx`."""
    return (node.end_col_offset or 0) - len(node.attr) + 1


def _constant(value: object, kind: Type, nullable: bool = False) -> _Typed:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT**2:
        raise ExpressionError("the expression's constant part is too large")
    return _Typed(lambda f: value, kind, nullable, value, True)
