"""A TLS terminator for the HTTPS discovery test: accepts TLS on a loopback port with the
certificate given, and pipes each connection's plain bytes to a loopback upstream port, as a
load balancer or reverse proxy in front of an issuing service does.

Usage: python3 terminate.py CERT KEY UPSTREAM_PORT. Prints the port it listens on, then serves
until killed."""

import socket
import ssl
import sys
import threading


def pipe(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client, upstream_port):
    try:
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    pipe(client, upstream)


def main():
    cert, key, upstream_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    while True:
        raw, _ = listener.accept()
        raw.settimeout(5)
        try:
            # The handshake happens here; one that fails (an untrusting client) ends only itself.
            client = context.wrap_socket(raw, server_side=True)
            client.settimeout(None)
        except (ssl.SSLError, OSError):
            raw.close()
            continue
        threading.Thread(target=serve, args=(client, upstream_port), daemon=True).start()


if __name__ == "__main__":
    main()
