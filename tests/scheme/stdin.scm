;; A script's input is stdin: sums the data read from it.
(import (scheme base) (scheme read) (scheme write))
(let loop ((sum 0))
  (let ((x (read)))
    (if (eof-object? x)
        (begin (display sum) (newline))
        (loop (+ sum (if (number? x) x 0))))))
