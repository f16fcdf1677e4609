package web

import (
	"bytes"
	"errors"
	"testing"
)

func TestReadMetadata(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Metadata
	}{
		{"jpeg with gps", jpegWithGPS(t), Metadata{Exif: true, GPS: true, GPSReadable: true, Lat: 11.09, Lon: 106.31, Camera: "TestCam"}},
		{"png with text", pngWithText(t, "hello"), Metadata{TextChunks: 1}},
		{"not an image", []byte("hello"), Metadata{}},
		{"truncated jpeg", jpegWithGPS(t)[:30], Metadata{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readMetadata(tt.data)
			if got.Exif != tt.want.Exif || got.GPS != tt.want.GPS || got.GPSReadable != tt.want.GPSReadable ||
				got.Camera != tt.want.Camera || got.TextChunks != tt.want.TextChunks {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if tt.want.GPSReadable && (abs(got.Lat-tt.want.Lat) > 1e-4 || abs(got.Lon-tt.want.Lon) > 1e-4) {
				t.Fatalf("position %v,%v, want %v,%v", got.Lat, got.Lon, tt.want.Lat, tt.want.Lon)
			}
		})
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestReencode(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		wantType string
	}{
		{"jpeg", jpegWithGPS(t), "image/jpeg"},
		{"png", pngWithText(t, "SECRET-COMMENT"), "image/png"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ""},
		{"html claiming png", []byte("\x89PNG\r\n\x1a\n<script>alert(1)</script>"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt, out, err := reencode(tt.data)
			if tt.wantType == "" {
				if !errors.Is(err, errNotImage) {
					t.Fatalf("err = %v, want errNotImage", err)
				}
				return
			}
			if err != nil || mt != tt.wantType {
				t.Fatalf("reencode = %s, %v", mt, err)
			}
			if m := readMetadata(out); !m.Empty() || bytes.Contains(out, []byte("SECRET-COMMENT")) || bytes.Contains(out, []byte("TestCam")) {
				t.Fatalf("metadata survived: %+v", m)
			}
		})
	}
}

func FuzzReadMetadata(f *testing.F) {
	f.Add(jpegWithGPS(f))
	f.Add(pngWithText(f, "x"))
	f.Add(append([]byte("\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00"), exifGPS([3]uint32{1, 2, 3}, [3]uint32{4, 5, 6})...))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08"))
	f.Fuzz(func(t *testing.T, data []byte) {
		readMetadata(data)
		if bytes.HasPrefix(data, []byte("II*")) || bytes.HasPrefix(data, []byte("MM")) {
			var m Metadata
			parseTIFF(data, &m)
		}
	})
}
