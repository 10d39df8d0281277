"""Plain-data stand-ins for what coro's pure modules read: gdb.Value-like
records for coro.roster, and a memory made of byte regions for
coro.stacks."""

from coro.stacks import Unreadable


class Type:
    def __init__(self, sizeof):
        self.sizeof = sizeof


class Struct:
    """A struct value: fields by name; its own address and size."""

    def __init__(self, fields=None, address=0, sizeof=0):
        self.fields = fields or {}
        self.address = address
        self.type = Type(sizeof)

    def __getitem__(self, name):
        return self.fields[name]


class Pointer:
    """A pointer to element `index` of `targets`, at `address` (0: null)."""

    def __init__(self, targets, address, index=0):
        self.targets, self.address_value, self.index = targets, address, index

    def __int__(self):
        return self.address_value

    def __add__(self, offset):
        return Pointer(self.targets, self.address_value, self.index + offset)

    def dereference(self):
        if self.address_value == 0:
            raise ValueError("null pointer dereferenced")
        return self.targets[self.index]


NULL = Pointer([], 0)


class Chars:
    """The data_ptr of a Rust &str."""

    def __init__(self, text):
        self.text = text

    def string(self, length):
        return self.text[:length]


def rust_str(text):
    """A Rust &str: {data_ptr, length}."""
    return Struct({"data_ptr": Chars(text), "length": len(text)})


def named(value, name):
    """The kernel's Named<T>: {value: &T, name: &str}."""
    return Struct({"value": value, "name": rust_str(name)})


class Memory:
    """Byte regions by start address; reading outside them fails as gdb
    does on unmapped memory."""

    def __init__(self):
        self.regions = {}

    def write(self, address, data):
        self.regions[address] = bytearray(data)

    def write_word(self, address, value):
        for start, region in self.regions.items():
            if start <= address and address + 8 <= start + len(region):
                region[address - start : address - start + 8] = value.to_bytes(8, "little")
                return
        self.write(address, value.to_bytes(8, "little"))

    def read(self, address, size):
        for start, region in self.regions.items():
            if start <= address and address + size <= start + len(region):
                return bytes(region[address - start : address - start + size])
        raise Unreadable("cannot access memory at %#x" % address)
