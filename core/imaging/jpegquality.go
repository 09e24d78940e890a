package imaging

import (
	"encoding/binary"
)

// The quality a JPEG was saved at, read from its quantization tables (DQT
// segments): almost every encoder (libjpeg and its descendants, Go's
// image/jpeg, browsers, phones that follow IJG) scales the example tables
// of the standard's Annex K by the IJG formula, so the quality whose
// scaled tables lie nearest to the file's is the quality it was saved at.
// Files with tables of their own (some cameras, Photoshop) get the nearest
// quality, which still says how coarse their quantization is.

// ijgTables are the standard's example luminance and chrominance tables,
// in zig-zag order as DQT segments store them.
var ijgTables = [2][64]int{
	{
		16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40,
		26, 24, 22, 22, 24, 49, 35, 37, 29, 40, 58, 51, 61, 60, 57, 51,
		56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87,
		95, 98, 103, 104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99,
	},
	{
		17, 18, 18, 24, 21, 24, 47, 26, 26, 47, 99, 66, 56, 66, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	},
}

// ijgScaled is entry v of a standard table at quality q (1-100), as
// libjpeg computes it, limited to limit (255 for 8-bit tables).
func ijgScaled(v, q, limit int) int {
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	x := (v*scale + 50) / 100
	return min(max(x, 1), limit)
}

// JPEGQuality estimates the IJG quality (1-100) a JPEG file was saved at
// from its luminance and chrominance quantization tables. ok is false
// when the data is not a JPEG or holds no readable table before its
// first scan; damaged segments end the search without a panic.
func JPEGQuality(data []byte) (quality int, ok bool) {
	tables, found := jpegTables(data)
	if !found {
		return 0, false
	}
	best, bestErr := 0, -1
	for q := 1; q <= 100; q++ {
		e := 0
		for id, t := range tables {
			if t.values == nil {
				continue
			}
			limit := 255
			if t.wide {
				limit = 32767
			}
			for i, v := range t.values {
				d := v - ijgScaled(ijgTables[min(id, 1)][i], q, limit)
				if d < 0 {
					d = -d
				}
				e += d
			}
		}
		// Ties go to the higher quality: near q = 100 many tables are all
		// ones.
		if bestErr < 0 || e <= bestErr {
			best, bestErr = q, e
		}
	}
	return best, true
}

// quantTable is one DQT table: 64 values in zig-zag order, 16-bit if wide.
type quantTable struct {
	values []int
	wide   bool
}

// jpegTables returns the tables 0 (luminance, by convention) and 1
// (chrominance) defined before the first scan.
func jpegTables(data []byte) (tables [2]quantTable, found bool) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return tables, false
	}
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			return tables, found // not at a marker: damaged
		}
		marker := data[p+1]
		switch {
		case marker == 0xFF: // fill byte
			p++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7): // no length
			p += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return tables, found
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return tables, found // truncated
		}
		if marker == 0xDB {
			seg := data[p+4 : p+2+n]
			for len(seg) > 0 {
				pq, tq := seg[0]>>4, seg[0]&15
				size := 64
				if pq == 1 {
					size = 128
				}
				if pq > 1 || tq > 3 || len(seg) < 1+size {
					return tables, found // damaged table
				}
				if tq < 2 {
					t := quantTable{values: make([]int, 64), wide: pq == 1}
					for i := range t.values {
						if t.wide {
							t.values[i] = int(binary.BigEndian.Uint16(seg[1+2*i:]))
						} else {
							t.values[i] = int(seg[1+i])
						}
					}
					tables[tq] = t
					found = found || tq == 0
				}
				seg = seg[1+size:]
			}
		}
		p += 2 + n
	}
	return tables, found
}
