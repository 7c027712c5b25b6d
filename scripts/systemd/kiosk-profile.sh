# The kiosk (scripts/setup.sh install --kiosk): on tty1 the station's window and nothing else.
# When the window ends (closed, or the station failed) X ends, the login ends, and the
# autologin on tty1 starts it all again. Any other tty gives an ordinary shell.
if [ -z "${DISPLAY:-}" ] && [ "$(tty)" = /dev/tty1 ]; then
  exec startx -- -nolisten tcp vt1
fi
