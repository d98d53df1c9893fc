// Keep test output about the code under test: the SDK's Node-version notice is not.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
