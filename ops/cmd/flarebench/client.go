package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// rawClient posts one prepared HTTP/1.1 request over a kept-alive
// connection. It is a deliberately lean load generator, in the spirit of
// wrk: the bench shares two cores with the gateway and Redis, and every
// cycle net/http's client spends is a cycle the gateway does not get.
type rawClient struct {
	addr    string
	request []byte
	conn    net.Conn
	br      *bufio.Reader
}

func rawRequest(addr string, body []byte, contentType string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /submit HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n", addr, contentType, len(body))
	b.Write(body)
	return b.Bytes()
}

func newRawClient(addr string, request []byte) (*rawClient, error) {
	c := &rawClient{addr: addr, request: request}
	return c, c.redial()
}

func (c *rawClient) redial() error {
	if c.conn != nil {
		c.conn.Close()
	}
	conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial gateway: %w", err)
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 4096)
	return nil
}

func (c *rawClient) post() error {
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(c.request); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (c *rawClient) close() { c.conn.Close() }
