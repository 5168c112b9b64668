;; A file name holding a NUL character is refused (C would cut the name there).
;; expect: error: open-input-file: the string holds a NUL character "a\x0;b"
(open-input-file (string #\a (integer->char 0) #\b))
