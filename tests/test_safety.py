"""Outside files: zip bombs and malicious XML are refused with a clear message."""

import io
import zipfile

import pytest

from retention_xl.errors import InputError
from retention_xl.io.safety import ZipLimits, check_zip_package, iterparse_xml, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<worksheet>&lol2;</worksheet>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet>&xxe;</worksheet>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, XXE])
def test_entity_attacks_are_refused(payload):
    with pytest.raises(InputError, match="DTD or entities"):
        parse_xml(payload, part="xl/worksheets/sheet1.xml")
    with pytest.raises(InputError, match="DTD or entities"):
        list(iterparse_xml(io.BytesIO(payload)))


def test_plain_xml_parses_and_broken_xml_is_named():
    assert parse_xml(b"<a><b>1</b></a>").find("b").text == "1"
    with pytest.raises(InputError, match=r"sheet9\.xml is not well-formed"):
        parse_xml(b"<a><b></a>", part="sheet9.xml")


def test_zip_bomb_is_refused(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024**2))
    with pytest.raises(InputError, match="zip bomb"):
        check_zip_package(bomb)
    with pytest.raises(InputError, match="unpacks to"):
        check_zip_package(bomb, limits=ZipLimits(max_member_bytes=1024**2))


def test_not_a_zip_is_refused_with_the_file_name(tmp_path):
    fake = tmp_path / "orders.xlsx"
    fake.write_text("id,amount\n1,2\n")
    with pytest.raises(InputError, match=r"orders\.xlsx is not a valid \.xlsx"):
        check_zip_package(fake)
