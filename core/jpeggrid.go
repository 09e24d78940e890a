package core

import (
	"bytes"
	"image"
	"image/jpeg"
)

// A JPEG's artifacts follow its 8x8 block grid, which starts at the stored
// image's top-left pixel. A network with Config.Grid reads two planes that
// say where each pixel sits in that grid: its distance to the nearer edge
// of its block, across and down. The distance is the same whichever way
// the block is flipped, so an EXIF orientation moves the grid's origin
// but changes nothing else.

// GridPlanes fills dst (two w x h planes) with the grid inputs of a w x h
// region whose top-left pixel is at origin in the grid ((0, 0): a block's
// first pixel; any integers, taken modulo 8): plane 0 across, plane 1
// down. Each value is the distance 0-3 to the block's nearer edge, mapped
// to -1..1.
func GridPlanes(dst []float32, w, h int, origin image.Point) {
	across, down := dst[:w*h], dst[w*h:][:w*h]
	row := make([]float32, w)
	for x := range row {
		row[x] = gridValue(origin.X + x)
	}
	for y := 0; y < h; y++ {
		copy(across[y*w:][:w], row)
		v := gridValue(origin.Y + y)
		for x := range w {
			down[y*w+x] = v
		}
	}
}

// gridValue maps a coordinate in the grid to its plane value.
func gridValue(i int) float32 {
	q := (i%8 + 8) % 8
	return float32(min(q, 7-q))/1.5 - 1
}

// JPEGGrid returns where the top-left pixel of a file's upright image (as
// Decode returns it, its EXIF orientation applied) sits in the file's
// block grid: (0, 0) unless the orientation flips an axis, and (0, 0) for
// files that are not JPEGs or whose header cannot be read.
func JPEGGrid(file []byte) image.Point {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(file))
	if err != nil {
		return image.Point{}
	}
	w, h := cfg.Width, cfg.Height
	// Pixel i of an axis of n pixels that the orientation reverses is
	// stored at n-1-i, the mirror image within its block of i-n: the same
	// distance to an edge as in a grid starting at -n.
	switch jpegOrientation(file) {
	case 2:
		return image.Pt(-w, 0)
	case 3:
		return image.Pt(-w, -h)
	case 4:
		return image.Pt(0, -h)
	case 6:
		return image.Pt(-h, 0)
	case 7:
		return image.Pt(-h, -w)
	case 8:
		return image.Pt(0, -w)
	}
	return image.Point{} // 1 and 5 (a transpose) keep the origin
}
