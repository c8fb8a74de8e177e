import pytest
from hypothesis import given
from hypothesis import strategies as st

from donorcrm.sepa.charset import is_sepa_text, transliterate


@pytest.mark.parametrize("name, sepa", [
    ("Förderverein Müller", "Foerderverein Mueller"),
    ("Łucja Żółć", "Lucja Zolc"),
    ("José Nuñez", "Jose Nunez"),
    ("Straße & Söhne", "Strasse + Soehne"),
    ("Ærøskøbing", "AEroskobing"),
    ("van der Berg", "van der Berg"),
])
def test_names_are_transliterated_on_purpose(name: str, sepa: str) -> None:
    assert transliterate(name) == sepa


@given(st.text(max_size=200))
def test_any_text_becomes_sepa_text_within_the_length(text: str) -> None:
    out = transliterate(text, 70)
    assert is_sepa_text(out) and len(out) <= 70
