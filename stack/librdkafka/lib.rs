// Empty: this package only names the crate whose C source stack/librdkafka.sh builds.
