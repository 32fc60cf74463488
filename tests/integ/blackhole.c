/*
 * blackhole.c -- a 127.0.0.1 port where TCP connects hang (for the
 * upstream connect-timeout test): it listens with a backlog of 1, never
 * accepts, and fills the accept queue itself, so the kernel drops further
 * SYNs. Prints the port, then waits to be killed (at most 10 minutes).
 * Never: talks to anything but 127.0.0.1.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), i;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(s, 1) != 0 || getsockname(s, (struct sockaddr *)&a, &len))
		return 1;
	for (i = 0; i < 4; i++) {	/* fill the queue: later SYNs drop */
		int c = socket(AF_INET, SOCK_STREAM, 0);

		fcntl(c, F_SETFL, O_NONBLOCK);
		(void)connect(c, (struct sockaddr *)&a, sizeof(a));
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	sleep(600);
	return 0;
}
