// placeholder until the Beast server lands
namespace oceanus::http {}
