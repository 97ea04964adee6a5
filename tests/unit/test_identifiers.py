import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.identifiers import (
    nhs_check_digit,
    normalise_nhs_number,
    normalise_postcode,
    normalise_urn,
)


def _with_check_digit(first_nine: str) -> str | None:
    check = nhs_check_digit(first_nine)
    return None if check is None else first_nine + str(check)


def test_a_published_valid_nhs_number_passes_with_spaces_or_hyphens() -> None:
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert normalise_nhs_number("943-476-5919") == "9434765919"


def test_a_wrong_check_digit_is_not_an_identifier() -> None:
    with pytest.raises(ValueError, match="modulus-11"):
        normalise_nhs_number("9434765918")


def test_nine_digits_whose_check_would_be_ten_have_no_valid_number() -> None:
    first_nine = next(
        f"{n:09d}" for n in range(100_000_000, 100_001_000) if nhs_check_digit(f"{n:09d}") is None
    )
    for last in "0123456789":
        with pytest.raises(ValueError):
            normalise_nhs_number(first_nine + last)


FULLWIDTH_DIGITS = "".join(chr(0xFF10 + int(d)) for d in "9434765919")


@pytest.mark.parametrize("bad", ["", "12345", "12345678901", "94347659l9", FULLWIDTH_DIGITS])
def test_wrong_length_or_non_digits_are_rejected_without_echoing_the_value(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        normalise_nhs_number(bad)
    assert bad not in str(info.value) or bad == ""


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_generated_number_with_its_check_digit_is_valid_and_one_off_is_not(
    nine: str,
) -> None:
    number = _with_check_digit(nine)
    if number is None:
        return
    assert normalise_nhs_number(number) == number
    wrong_last = number[:9] + str((int(number[9]) + 1) % 10)
    with pytest.raises(ValueError):
        normalise_nhs_number(wrong_last)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        ("  ec1a  1bb ", "EC1A 1BB"),
        ("m11ae", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("cr2 6xh", "CR2 6XH"),
        ("DN551PT", "DN55 1PT"),
        ("w1a0ax", "W1A 0AX"),
        ("gir0aa", "GIR 0AA"),
    ],
)
def test_postcodes_are_upper_case_with_one_space_before_the_inward_code(
    raw: str, normal: str
) -> None:
    assert normalise_postcode(raw) == normal


@pytest.mark.parametrize("bad", ["", "SW1A", "12345", "SW1A 1A", "Q1A 1AA1", "not a postcode"])
def test_malformed_postcodes_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="UK postcode"):
        normalise_postcode(bad)


def test_school_urn_is_six_digits() -> None:
    assert normalise_urn(100000) == "100000"
    assert normalise_urn(" 123456 ") == "123456"
    for bad in ["12345", "1234567", "012345", "abcdef"]:
        with pytest.raises(ValueError, match="six digits"):
            normalise_urn(bad)
