"""Word lists for believable Chinese company and person names in the demo organisation."""

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯"
    "邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏飞宇浩然欣怡晨阳博思雨婷琳楠"
)
CITIES = (
    "上海",
    "北京",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "成都",
    "武汉",
    "西安",
    "天津",
    "重庆",
    "长沙",
    "宁波",
    "青岛",
    "厦门",
    "合肥",
    "郑州",
    "济南",
    "无锡",
    "佛山",
    "东莞",
)
BRAND_HEADS = "华恒瑞泰鼎盛中宏天联信达金鑫新创博远明正安永嘉汇通力凯旭辰宇星海德"
BRAND_TAILS = "科达源兴晟茂腾昊邦弘川越诚程峰升益祥润捷科云智"
TRADES = (
    "信息科技",
    "智能制造",
    "电子",
    "生物医药",
    "新材料",
    "物流",
    "食品",
    "机械设备",
    "软件",
    "环保科技",
    "汽车零部件",
    "建筑工程",
    "医疗器械",
    "贸易",
    "能源",
)
INDUSTRIES = (
    "manufacturing",
    "software",
    "retail",
    "healthcare",
    "logistics",
    "energy",
    "construction",
    "finance",
    "education",
    "food",
)
PRODUCT_LINES = ("ERP", "CRM", "MES", "BI", "Cloud", "Services")
TEAM_REGIONS = (
    ("east", "华东大区", "East"),
    ("north", "华北大区", "North"),
    ("south", "华南大区", "South"),
    ("southwest", "西南大区", "Southwest"),
    ("central", "华中大区", "Central"),
    ("northwest", "西北大区", "Northwest"),
    ("northeast", "东北大区", "Northeast"),
)
CONTACT_TITLES = {
    "decision_maker": ("总经理", "副总裁", "CIO", "采购总监"),
    "influencer": ("IT经理", "技术总监", "项目经理"),
    "user": ("业务主管", "工程师", "专员"),
    "finance": ("财务经理", "财务总监"),
}
