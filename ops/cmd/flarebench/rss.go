package main

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// peakRSS streams one file of o.rssSize bytes through POST /submit to a
// gateway on the embedded store and returns the gateway's peak RSS.
func peakRSS(ctx context.Context, o options, k *keys) (int64, error) {
	dir, err := os.MkdirTemp("", "flarebench-rss-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	gw, addr, err := startGateway(ctx, o.flare, k.strings, "file:"+filepath.Join(data, "flare.db"), data)
	if err != nil {
		return 0, err
	}
	defer gw.stop()
	if err := postLargeFile(ctx, "http://"+addr+"/submit", o.rssSize); err != nil {
		return 0, err
	}
	return peakRSSOf(gw.pid())
}

// postLargeFile streams a generated file of size bytes as a multipart
// upload; neither side holds it whole.
func postLargeFile(ctx context.Context, url string, size int64) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("message", "large evidence file")
		fw, err := mw.CreateFormFile("file", "evidence.bin")
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		if _, err := io.CopyN(fw, patternReader{}, size); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, pr)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	client := &http.Client{Timeout: 10 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("upload: status %d: %s", resp.StatusCode, body)
	}
	return nil
}

// patternReader yields an endless, cheap, non-repeating-looking stream.
type patternReader struct{}

func (patternReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*31 + i>>8)
	}
	return len(p), nil
}
