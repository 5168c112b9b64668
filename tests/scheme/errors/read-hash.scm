;; expect: read error: unknown # syntax
(display #q)
