"""Decode an ASTERIX file with the ``asterix-decoder`` package (PyPI; its module is also named
``asterix``, so it runs in a virtual environment of its own) and print each CAT 048 record's
values as one JSON list: the independent reading that tests/test_asterix_crossdecode.py checks
counterram's encoder against. Run by that environment's interpreter, not collected by pytest."""

import json
import sys

import asterix  # asterix-decoder's module


def _val(record: dict, item: str, *path: str) -> object:
    node = record.get(item)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node.get("val") if isinstance(node, dict) else None


def main() -> None:
    with open(sys.argv[1], "rb") as fp:
        data = fp.read()
    out = []
    for r in asterix.parse(data):
        out.append({
            "category": r.get("category"),
            "sac": _val(r, "I010", "SAC"), "sic": _val(r, "I010", "SIC"),
            "tod_s": _val(r, "I140", "ToD"),
            "rho_nm": _val(r, "I040", "RHO"), "theta_deg": _val(r, "I040", "THETA"),
            "fl": _val(r, "I090", "FL"), "height_ft": _val(r, "I110", "3D_Height"),
            "doppler_mps": _val(r, "I120", "CAL", "CAL"),
            "pam_db": _val(r, "I130", "PAMP", "PAM"),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
