package web

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
)

// Limits on the images the console re-encodes for display. A larger file
// can still be downloaded.
const (
	maxImageBytes  = 48 << 20
	maxImagePixels = 24_000_000 // a 24 MP photo; decoded, about 100 MB
)

// errNotImage is returned by reencode for data it will not show.
var errNotImage = errors.New("not an image the console shows")

// reencode decodes a PNG, JPEG or GIF (decided by its content, not by what
// the source claimed) and encodes its pixels afresh: JPEG for JPEG, PNG for
// the others. Only pixels survive, so EXIF (GPS position, camera serial
// numbers), comments and anything appended to the file are gone, and the
// browser only ever parses an image the console wrote. SVG and every other
// format are refused.
func reencode(data []byte) (mediaType string, out []byte, err error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return "", nil, fmt.Errorf("%w: %dx%d pixels is too large to show", errNotImage, cfg.Width, cfg.Height)
	}
	var img image.Image
	switch format {
	case "jpeg":
		img, err = jpeg.Decode(bytes.NewReader(data))
	case "png":
		img, err = png.Decode(bytes.NewReader(data))
	case "gif":
		img, err = gif.Decode(bytes.NewReader(data)) // first frame only
	default:
		return "", nil, fmt.Errorf("%w: format %s", errNotImage, format)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errNotImage, err)
	}
	var buf bytes.Buffer
	if format == "jpeg" {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
		mediaType = "image/jpeg"
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
		mediaType = "image/png"
	}
	if err != nil {
		return "", nil, fmt.Errorf("re-encode image: %w", err)
	}
	return mediaType, buf.Bytes(), nil
}

// readLimited reads r to its end, failing if it holds more than limit bytes.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: larger than %d bytes", errNotImage, limit)
	}
	return data, nil
}

// Metadata is what an original image file says about where and how it was
// made, summarised for the key-holder.
type Metadata struct {
	Exif        bool
	GPS         bool
	Lat, Lon    float64
	Camera      string
	Taken       string
	TextChunks  int // PNG text chunks (tEXt, iTXt, zTXt)
	GPSReadable bool
}

// Empty reports whether nothing was found.
func (m Metadata) Empty() bool { return !m.Exif && m.TextChunks == 0 }

// metadataHead is how much of a file readMetadata looks at: EXIF sits in
// the first segment of a JPEG and is at most 64 KiB.
const metadataHead = 256 << 10

// readMetadata summarises the metadata at the start of a JPEG or PNG file.
func readMetadata(head []byte) Metadata {
	var m Metadata
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8}):
		p := head[2:]
		for len(p) >= 4 && p[0] == 0xFF {
			marker := p[1]
			if marker == 0xDA || marker == 0xD9 { // start of scan, end
				break
			}
			n := int(binary.BigEndian.Uint16(p[2:4]))
			if n < 2 || 2+n > len(p) {
				break
			}
			seg := p[4 : 2+n]
			if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
				parseTIFF(seg[6:], &m)
			}
			p = p[2+n:]
		}
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		p := head[8:]
		for len(p) >= 12 {
			n := binary.BigEndian.Uint32(p[0:4])
			typ := string(p[4:8])
			if uint64(n)+12 > uint64(len(p)) {
				break
			}
			data := p[8 : 8+n]
			switch typ {
			case "eXIf":
				parseTIFF(data, &m)
			case "tEXt", "iTXt", "zTXt":
				m.TextChunks++
			case "IDAT", "IEND":
				return m
			}
			p = p[12+n:]
		}
	}
	return m
}

// tiff reads a TIFF structure (the body of EXIF) with bounds checks on
// every access: the data comes from a source and may be hostile.
type tiff struct {
	b  []byte
	bo binary.ByteOrder
}

func (t tiff) u16(off int) (int, bool) {
	if off < 0 || off+2 > len(t.b) {
		return 0, false
	}
	return int(t.bo.Uint16(t.b[off:])), true
}

func (t tiff) u32(off int) (int, bool) {
	if off < 0 || off+4 > len(t.b) {
		return 0, false
	}
	v := t.bo.Uint32(t.b[off:])
	if v > 1<<30 {
		return 0, false
	}
	return int(v), true
}

type ifdEntry struct {
	tag, typ, count int
	valueOff        int // offset of the value (inline or pointed to)
}

// ifd reads the entries of the IFD at off (at most 256).
func (t tiff) ifd(off int) []ifdEntry {
	n, ok := t.u16(off)
	if !ok {
		return nil
	}
	var out []ifdEntry
	for i := 0; i < n && i < 256; i++ {
		e := off + 2 + 12*i
		tag, ok1 := t.u16(e)
		typ, ok2 := t.u16(e + 2)
		count, ok3 := t.u32(e + 4)
		if !ok1 || !ok2 || !ok3 {
			break
		}
		size := count * typeSize(typ)
		vo := e + 8
		if size > 4 {
			p, ok := t.u32(e + 8)
			if !ok {
				continue
			}
			vo = p
		}
		out = append(out, ifdEntry{tag: tag, typ: typ, count: count, valueOff: vo})
	}
	return out
}

func typeSize(typ int) int {
	switch typ {
	case 1, 2, 7: // BYTE, ASCII, UNDEFINED
		return 1
	case 3: // SHORT
		return 2
	case 4, 9: // LONG, SLONG
		return 4
	case 5, 10: // RATIONAL, SRATIONAL
		return 8
	}
	return 1
}

func (t tiff) ascii(e ifdEntry) string {
	if e.typ != 2 || e.count > 256 || e.valueOff+e.count > len(t.b) || e.valueOff < 0 {
		return ""
	}
	s := string(t.b[e.valueOff : e.valueOff+e.count])
	s = strings.TrimRight(s, "\x00 ")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// degrees reads a GPS coordinate: three RATIONALs, degrees minutes seconds.
func (t tiff) degrees(e ifdEntry) (float64, bool) {
	if e.typ != 5 || e.count != 3 {
		return 0, false
	}
	var v [3]float64
	for i := range 3 {
		num, ok1 := t.u32(e.valueOff + 8*i)
		den, ok2 := t.u32(e.valueOff + 8*i + 4)
		if !ok1 || !ok2 || den == 0 {
			return 0, false
		}
		v[i] = float64(num) / float64(den)
	}
	return v[0] + v[1]/60 + v[2]/3600, true
}

func parseTIFF(b []byte, m *Metadata) {
	m.Exif = true
	t := tiff{b: b}
	switch {
	case bytes.HasPrefix(b, []byte("II*\x00")):
		t.bo = binary.LittleEndian
	case bytes.HasPrefix(b, []byte("MM\x00*")):
		t.bo = binary.BigEndian
	default:
		return
	}
	off, ok := t.u32(4)
	if !ok {
		return
	}
	var make_, model string
	for _, e := range t.ifd(off) {
		switch e.tag {
		case 0x010F:
			make_ = t.ascii(e)
		case 0x0110:
			model = t.ascii(e)
		case 0x0132:
			if m.Taken == "" {
				m.Taken = t.ascii(e)
			}
		case 0x8769: // Exif sub-IFD
			if p, ok := t.u32(e.valueOff); ok {
				for _, x := range t.ifd(p) {
					if x.tag == 0x9003 {
						m.Taken = t.ascii(x)
					}
				}
			}
		case 0x8825: // GPS IFD
			m.GPS = true
			p, ok := t.u32(e.valueOff)
			if !ok {
				continue
			}
			var latRef, lonRef string
			var lat, lon float64
			var okLat, okLon bool
			for _, g := range t.ifd(p) {
				switch g.tag {
				case 1:
					latRef = t.ascii(g)
				case 2:
					lat, okLat = t.degrees(g)
				case 3:
					lonRef = t.ascii(g)
				case 4:
					lon, okLon = t.degrees(g)
				}
			}
			if okLat && okLon && lat <= 90 && lon <= 180 {
				if latRef == "S" {
					lat = -lat
				}
				if lonRef == "W" {
					lon = -lon
				}
				m.Lat, m.Lon, m.GPSReadable = lat, lon, true
			}
		}
	}
	m.Camera = strings.TrimSpace(make_ + " " + model)
}
