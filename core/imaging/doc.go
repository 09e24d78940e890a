// Package imaging is everything about pixels that is not a network: decoding
// (EXIF orientation, size limits) and encoding, colour conversion as
// MATLAB's rgb2ycbcr does it, float planes and MATLAB's imresize
// resampling, an unsharp mask (the x4 Detailed networks' finish), the
// banded PNG writer the page streams, JPEG quality estimation from
// quantization tables, and exact output sizes.
package imaging
