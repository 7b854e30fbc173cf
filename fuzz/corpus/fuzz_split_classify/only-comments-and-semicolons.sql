-- nothing here
/* still /* nested */ nothing */ ;;
;
