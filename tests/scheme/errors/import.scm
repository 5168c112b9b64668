;; expect: unknown library
(import (scheme base) (srfi 1))
