"""cnncalc.units: exact parsing of counts (K M G T) and byte sizes (KB MB GB / KiB MiB GiB).

Expected values are plain arithmetic: 'M' is 10**6, 'MiB' is 2**20.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc.errors import ArgumentError, CnnCalcError
from cnncalc.units import format_bytes, format_count, parse_bytes, parse_count

COUNT = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTES = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
         "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


# -- counts -------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("5M", 5_000_000),
    ("4.089G", 4_089_000_000),
    ("1.5K", 1_500),
    (".5K", 500),
    ("0.5M", 500_000),
    ("2.5T", 2_500_000_000_000),
    ("12", 12),
    ("0", 0),
    ("5k", 5_000),                       # suffixes are case-insensitive
    (" 5 M ", 5_000_000),                # spaces around and before the suffix
    ("11.689512M", 11_689_512),          # ResNet-18's parameter count, written exactly
    ("25.557032M", 25_557_032),          # ResNet-50's
    ("123456789.123456789G", 123_456_789_123_456_789),   # beyond float precision, still exact
    ("7.", 7),
])
def test_parse_count_exact(text, expected):
    assert parse_count(text) == expected
    assert type(parse_count(text)) is int


def test_parse_count_ints_and_floats():
    assert parse_count(12) == 12
    assert parse_count(0) == 0
    assert parse_count(10**30) == 10**30
    assert parse_count(5e6) == 5_000_000            # a YAML float such as 5.0e+6
    assert parse_count(1.5e3) == 1_500


@pytest.mark.parametrize("text", ["1.0005K", "0.1", "1.2345K", "0.0000001M"])
def test_parse_count_not_whole(text):
    with pytest.raises(ArgumentError, match="not a whole number"):
        parse_count(text)


@pytest.mark.parametrize("text, unit", [("5MB", "MB"), ("5 MB", "MB"), ("48MiB", "MiB"), ("1GiB", "GiB"),
                                        ("5B", "B"), ("2kb", "kb")])
def test_count_given_a_byte_unit(text, unit):
    with pytest.raises(ArgumentError) as info:
        parse_count(text)
    message = str(info.value)
    assert "byte unit" in message and repr(unit) in message
    assert "K M G T" in message


@pytest.mark.parametrize("text, suffix", [("5X", "X"), ("5Mi", "Mi"), ("3 bn", "bn"), ("1KK", "KK"), ("2P", "P")])
def test_count_unknown_suffix(text, suffix):
    with pytest.raises(ArgumentError) as info:
        parse_count(text)
    message = str(info.value)
    assert f"unknown suffix {suffix!r}" in message
    assert "K M G T" in message


@pytest.mark.parametrize("value", [None, True, False, [], {}, -5, "-5M", "", "M", "5M5", "1e6", "five",
                                   "1,000", "1_000", float("inf"), float("nan"), -1.0])
def test_count_malformed(value):
    with pytest.raises(ArgumentError) as info:
        parse_count(value)
    assert isinstance(info.value, CnnCalcError) and info.value.exit_code == 2


# -- byte sizes -------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("64MiB", 64 * 2**20),
    ("48MiB", 50_331_648),
    ("48MB", 48_000_000),
    ("1KiB", 1_024),
    ("1.5KiB", 1_536),
    ("0.5GiB", 2**29),
    ("2GiB", 2 * 2**30),
    ("1TiB", 2**40),
    ("1TB", 10**12),
    ("1KB", 1_000),
    ("512", 512),
    ("512B", 512),
    ("64 mib", 64 * 2**20),
    ("1.25MB", 1_250_000),
    ("4.000001GB", 4_000_001_000),
])
def test_parse_bytes_exact(text, expected):
    assert parse_bytes(text) == expected
    assert type(parse_bytes(text)) is int


def test_parse_bytes_ints():
    assert parse_bytes(1024) == 1024
    assert parse_bytes(0) == 0


@pytest.mark.parametrize("text", ["1.1KiB", "0.3B", "1.0000001MiB"])
def test_parse_bytes_not_whole(text):
    with pytest.raises(ArgumentError, match="not a whole number of bytes"):
        parse_bytes(text)


@pytest.mark.parametrize("text, suffix", [("5M", "M"), ("64 G", "G"), ("1K", "K"), ("2t", "t")])
def test_bytes_given_a_count_suffix(text, suffix):
    with pytest.raises(ArgumentError) as info:
        parse_bytes(text)
    message = str(info.value)
    assert "count suffix" in message and repr(suffix) in message
    assert "MiB" in message and "MB" in message


@pytest.mark.parametrize("text", ["5Mb/s", "5MiBs", "5XB", "5 bytes", "1PiB"])
def test_bytes_unknown_suffix_or_malformed(text):
    with pytest.raises(ArgumentError) as info:
        parse_bytes(text)
    assert info.value.exit_code == 2


def test_bytes_unknown_suffix_lists_units():
    with pytest.raises(ArgumentError, match="KiB MiB GiB"):
        parse_bytes("5XB")


# -- formatting -----------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (0, "0"), (999, "999"), (1_000, "1.000K"), (1_584, "1.584K"), (25_557_032, "25.56M"),
    (4_089_184_256, "4.089G"), (138_357_544, "138.4M"), (-1_500, "-1.500K"), (None, "-"),
])
def test_format_count(value, text):
    assert format_count(value) == text


@pytest.mark.parametrize("value, text", [
    (0, "0 B"), (1_023, "1023 B"), (1_024, "1.00 KiB"), (102_760_448, "98.00 MiB"), (2**30, "1.00 GiB"),
    (None, "-"),
])
def test_format_bytes(value, text):
    assert format_bytes(value) == text


# -- properties -------------------------------------------------------------------

@given(st.integers(min_value=0, max_value=10**18))
def test_plain_integers_round_trip(n):
    assert parse_count(n) == n
    assert parse_count(str(n)) == n
    assert parse_bytes(n) == n
    assert parse_bytes(str(n)) == n


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=999),
       st.sampled_from(sorted(COUNT)), st.booleans())
def test_decimal_counts_are_exact(whole, thousandths, suffix, lower):
    text = f"{whole}.{thousandths:03d}{suffix.lower() if lower else suffix}"
    expected = Fraction(f"{whole}.{thousandths:03d}") * COUNT[suffix]
    assert expected.denominator == 1                 # K and up make three decimals whole
    assert parse_count(text) == int(expected)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(BYTES)))
def test_whole_byte_sizes_are_exact(number, suffix):
    assert parse_bytes(f"{number}{suffix}") == number * BYTES[suffix]
    assert parse_bytes(f"{number} {suffix}") == number * BYTES[suffix]


@given(st.integers(min_value=1, max_value=9_999), st.integers(min_value=0, max_value=12))
def test_format_count_round_trips_exactly_with_four_significant_digits(mantissa, exponent):
    # format_count keeps four significant digits, so such values come back exactly
    value = mantissa * 10**exponent
    assert parse_count(format_count(value)) == value


@given(st.integers(min_value=0, max_value=10**16))
def test_format_count_round_trip_is_within_rounding(value):
    back = parse_count(format_count(value))
    assert abs(back - value) * 2000 <= value        # half a unit in the fourth significant digit


@given(st.integers(min_value=1, max_value=1_023), st.sampled_from([2**10, 2**20, 2**30, 2**40]))
def test_format_bytes_round_trips_exactly_on_binary_units(k, scale):
    value = k * scale
    assert parse_bytes(format_bytes(value)) == value


@given(st.integers(min_value=0, max_value=2**45))
def test_format_bytes_is_within_rounding(value):
    text = format_bytes(value)
    number, unit = text.split(" ")
    scale = {"B": 1, **{u: s for u, s in BYTES.items() if "i" in u}}[unit]
    assert abs(Fraction(number) * scale - value) <= Fraction(scale, 200)
    try:                                             # parses back, or says why it cannot be exact
        assert abs(parse_bytes(text) - value) <= scale / 200
    except ArgumentError as err:
        assert "not a whole number of bytes" in str(err)


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(sorted(BYTES) + ["B"]), st.booleans())
def test_byte_units_are_refused_as_counts(number, unit, space):
    with pytest.raises(ArgumentError, match="byte unit"):
        parse_count(f"{number}{' ' if space else ''}{unit}")


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(sorted(COUNT)), st.booleans())
def test_count_suffixes_are_refused_as_bytes(number, suffix, space):
    with pytest.raises(ArgumentError, match="count suffix"):
        parse_bytes(f"{number}{' ' if space else ''}{suffix}")


@given(st.integers(min_value=0, max_value=10**6),
       st.text(alphabet="ACDEFHJLNOPQRSUVWXYZacdefhjlnopqrsuvwxyz", min_size=1, max_size=3))
def test_unknown_suffixes_are_refused(number, suffix):
    with pytest.raises(ArgumentError, match="unknown suffix"):
        parse_count(f"{number}{suffix}")
    with pytest.raises(ArgumentError, match="unknown suffix"):
        parse_bytes(f"{number}{suffix}")


# -- hostile numbers ------------------------------------------------------------------

@pytest.mark.parametrize("parse", [parse_count, parse_bytes])
@pytest.mark.parametrize("text", ["²", "5²", "٣M", "５K", "১২", "Ⅻ", "½", "1\u00a0000"])
def test_only_ascii_digits(parse, text):
    with pytest.raises(ArgumentError):
        parse(text)


@pytest.mark.parametrize("parse", [parse_count, parse_bytes])
@pytest.mark.parametrize("value", ["5" * 5000, "5" * 5000 + "M", "0." + "0" * 5000 + "1G", "5" * 41,
                                   10**5000, -10**5000, 10**40],
                         ids=["5000-digits", "5000-digits-M", "5000-decimals", "41-digits", "1e5000", "-1e5000",
                              "1e40"])
def test_digits_are_bounded_before_converting(parse, value):
    with pytest.raises(ArgumentError) as info:
        parse(value)
    message = str(info.value)
    assert "40 digits" in message and len(message) < 300


def test_forty_digits_are_fine():
    assert parse_count("9" * 40) == 10**40 - 1
    assert parse_count(10**40 - 1) == 10**40 - 1
    assert parse_bytes("1" + "0" * 39) == 10**39


@pytest.mark.parametrize("value", [10**5000, -10**5000, 10**400, 2**4000],
                         ids=["1e5000", "-1e5000", "1e400", "2**4000"])
def test_formatting_huge_values(value):
    assert format_count(value).lstrip("-").startswith("~10^")
    assert format_bytes(value).lstrip("-").startswith("~10^")


@given(st.text(max_size=60) | st.text(alphabet="0123456789.KMGTiB ²٣", max_size=60))
def test_any_text_is_a_number_or_an_argument_error(text):
    for parse in (parse_count, parse_bytes):
        try:
            value = parse(text)
        except ArgumentError as err:
            assert "\n" not in str(err)
        else:
            assert type(value) is int and value >= 0
            assert all(c.isascii() for c in text.strip())   # only ASCII digits and suffixes parse
