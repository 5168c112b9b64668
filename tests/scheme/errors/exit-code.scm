;; expect-rc: 3
(display "before exit")
(exit 3)
(display "never")
