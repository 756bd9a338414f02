#!/usr/bin/env python3
"""Relay RSS per idle HTTP/1.1 keep-alive connection (BENCHMARKS.md, pending section).

Usage: bench/idle_connections.py PORT PID N
Opens N connections to the relay on 127.0.0.1:PORT, sends one `GET /healthz` on each,
reads the answers, keeps the connections open and prints the growth of the relay's
VmRSS (process PID) per connection, as JSON.
"""
import json
import socket
import sys
import time

port=int(sys.argv[1]); pid=int(sys.argv[2]); n=int(sys.argv[3])
def rss():
    for l in open(f'/proc/{pid}/status'):
        if l.startswith('VmRSS'): return int(l.split()[1])
before = rss()
socks = []
for i in range(n):
    s=socket.create_connection(('127.0.0.1',port))
    s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    socks.append(s)
for s in socks:
    data=b''
    while b'\r\n\r\n' not in data: data+=s.recv(4096)
time.sleep(2)
after=rss()
print(json.dumps({"connections":n,"rss_before_kib":before,"rss_after_kib":after,"bytes_per_connection":(after-before)*1024/n}))
