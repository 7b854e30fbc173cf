SELECT E'a\'b', U&'d\0061t\+000061' UESCAPE '\', U&"d!0061t" UESCAPE '!', B'1010', X'1F', $$x$$, $a$ $$ $a$;
