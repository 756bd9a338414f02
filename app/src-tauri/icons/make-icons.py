#!/usr/bin/env python3
"""Draws the OnePush mark (app/ui/img/icon.svg: a blue shield with a white check) as
RGBA PNGs, plus a PNG-in-ICO for Windows, with the standard library only.
Run from this folder: python3 make-icons.py"""
import struct
import zlib

BLUE = (0x1D, 0x4F, 0x99)
SS = 4  # samples per pixel side


def bezier(p0, p1, p2, p3, n=24):
    out = []
    for i in range(1, n + 1):
        t = i / n
        u = 1 - t
        out.append(tuple(u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d
                         for a, b, c, d in zip(p0, p1, p2, p3)))
    return out


# The shield, in the SVG's 48x48 units: M24 3 6 10v12c0 11 7.6 19.6 18 23
# 10.4-3.4 18-12 18-23V10L24 3Z
SHIELD = [(24, 3), (6, 10), (6, 22)]
SHIELD += bezier((6, 22), (6, 33), (13.6, 41.6), (24, 45))
SHIELD += bezier((24, 45), (34.4, 41.6), (42, 33), (42, 22))
SHIELD += [(42, 10), (24, 3)]
CHECK = [(15.5, 24.5), (21.5, 30.5), (32.5, 18.5)]
STROKE = 2.0  # half of stroke-width 4


def inside(poly, x, y):
    hit = False
    for (x1, y1), (x2, y2) in zip(poly, poly[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def near_check(x, y):
    for (x1, y1), (x2, y2) in zip(CHECK, CHECK[1:]):
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
        px, py = x1 + t * dx - x, y1 + t * dy - y
        if px * px + py * py <= STROKE * STROKE:
            return True
    return False


def render(size):
    rows = []
    scale = 48 / size
    for py in range(size):
        row = bytearray([0])  # filter: none
        for px in range(size):
            shield = white = 0
            for sy in range(SS):
                for sx in range(SS):
                    x = (px + (sx + 0.5) / SS) * scale
                    y = (py + (sy + 0.5) / SS) * scale
                    if inside(SHIELD, x, y):
                        shield += 1
                        if near_check(x, y):
                            white += 1
            n = SS * SS
            if shield == 0:
                row += bytes(4)
                continue
            w = white / shield
            rgb = [round(b * (1 - w) + 255 * w) for b in BLUE]
            row += bytes(rgb + [round(255 * shield / n)])
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def png(size, raw):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ico(pngs):
    out = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    for size, data in pngs:
        out += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + b"".join(d for _, d in pngs)


if __name__ == "__main__":
    made = {}
    for name, size in [("32x32.png", 32), ("128x128.png", 128),
                       ("128x128@2x.png", 256), ("icon.png", 512)]:
        made[size] = render(size)
        with open(name, "wb") as f:
            f.write(made[size])
    with open("icon.ico", "wb") as f:
        f.write(ico([(32, made[32]), (256, made[256])]))
