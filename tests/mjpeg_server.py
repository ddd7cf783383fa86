"""A tiny MJPEG-over-HTTP camera for tests: `python mjpeg_server.py PORT [FPS [VIDEO [LOOPS]]]`.

Serves multipart/x-mixed-replace JPEG frames on 127.0.0.1 only, the way many IP cameras do. Without VIDEO
each frame is a flat grey image whose level is the frame counter modulo 256, so a reader can tell frames
apart; with VIDEO it films that video's frames, LOOPS times (default 1), then the last frame forever.
Prints "ready" once listening, then "client" as each reader connects; killing the process breaks every open
stream, like a camera losing power.
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


class _Camera(BaseHTTPRequestHandler):
    fps = 20.0
    video: list[np.ndarray] = []  # BGR frames to film, if any

    def _image(self, count: int) -> np.ndarray:
        if not self.video:
            return np.full((96, 128, 3), count % 256, np.uint8)
        return self.video[min(count, len(self.video) - 1)]

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        print("client", flush=True)
        count = 0
        try:
            while True:
                image = self._image(count)
                ok, jpeg = cv2.imencode(".jpg", image)
                data = jpeg.tobytes()
                header = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                self.wfile.write(header.encode() + data + b"\r\n")
                count += 1
                time.sleep(1.0 / self.fps)
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, *args: object) -> None:
        return


def main() -> None:
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        _Camera.fps = float(sys.argv[2])
    if len(sys.argv) > 3:
        capture = cv2.VideoCapture(sys.argv[3])
        frames = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            frames.append(image)
        loops = int(sys.argv[4]) if len(sys.argv) > 4 else 1
        _Camera.video = frames * loops
    server = ThreadingHTTPServer(("127.0.0.1", port), _Camera)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
